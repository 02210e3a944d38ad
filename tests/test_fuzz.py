"""Fuzzing: every bundled spec (specs/**/*.yaml), mutated at the YAML level and at the byte level, through the
real command line in-process.

YAML level: the spec is read into plain Python values, one to three mutations are applied (drop, duplicate or
rename a key, drop, duplicate or swap a list item, replace a value, swap its type, turn a number into 0, -1, a huge
number or a string, insert raw YAML 1.1 surprises such as `on`, `010`, `1e3`), and it is written back as YAML.
Byte level: one to four bit flips, insertions of YAML-significant bytes, deletions and duplications of byte ranges
of the original file.

Every case must end in exit code 0 or 2, with no exception other than the CLI's clean exit, nothing on stdout but
one valid JSON document (on success) or nothing (on error), one `FILE:LINE:COL: error:` message on stderr for an
error, and within a second.

Speed: the command is built once (typer's CliRunner rebuilds it from the app on every call, 6 ms: `_runner_command`
hands it the one built here) and run on standard input, about 1 ms of overhead per case. Small specs get more cases than large
ones; together over 5,000 cases per run. Profiles: "fuzz-ci" (derandomised, no example database) when the
environment variable CI is set, else "fuzz-dev" (random). FUZZ_SCALE=10 multiplies the cases for a long local run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from functools import lru_cache
from pathlib import Path

import pytest
import typer
import yaml
import typer.testing
from typer.testing import CliRunner
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.cli import app
from cnncalc.layers import REGISTRY, fields_of

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))

_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("fuzz-ci", derandomize=True, database=None, **_common)
settings.register_profile("fuzz-dev", **_common)
PROFILE = settings.get_profile("fuzz-ci" if os.environ.get("CI") else "fuzz-dev")

COMMAND = typer.main.get_command(app)
RUNNER = CliRunner()


@pytest.fixture(autouse=True)
def _runner_command(monkeypatch):
    """Let typer's runner reuse the command built once (typer itself is not under test here)."""
    monkeypatch.setattr(typer.testing, "_get_command", lambda application: COMMAND)
LAYERS = ("--max-layers", "5000")
"""A mutation that multiplies a `repeat` is refused by the layer limit instead of being analysed at full size: the
fuzz cases check the contract (exit code, streams, one message), and tests/test_limits.py checks the worst cases
within the default limits."""
TRACED = ("--max-traced", "200000")
"""Likewise for positions traced one by one (`rf --at` across a map widened to 224,000 columns)."""
COMMANDS = [("cost", "--json", *LAYERS), ("rf", "--json", *LAYERS, *TRACED), ("validate", "--json", *LAYERS),
            ("rf", "--json", "--at", "0,0", *LAYERS, *TRACED)]
ERROR = re.compile(r"<stdin>:\d+:\d+: error: ")

CASES = {"yaml": 0, "bytes": 0}
"""Cases run in this session, per level (reported by the last test)."""
DONE: set[str] = set()
"""Parametrised tests that ran to the end (the 5,000-case check needs all of them)."""

BUDGET = 1.0
"""Seconds one case may take."""
ALARM = 3
"""Seconds after which a case is interrupted (a hang fails the test with its spec instead of stalling the run)."""

class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def address_space_guard(extra: int = 1 << 30):
    """Cap this process's address space at its current size + `extra` while a case runs, so that a runaway
    allocation raises MemoryError (reported by the CLI) instead of waking the kernel's OOM killer."""
    try:
        import resource
        with open("/proc/self/statm") as handle:
            size = int(handle.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        yield
        return
    limit = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def invoke(data: bytes, command: tuple[str, ...]):
    """(result, seconds) of one run, interrupted after ALARM seconds, in a bounded address space."""
    alarm = hasattr(signal, "setitimer")
    if alarm:  # again every 0.5 s after the first: a signal that lands in a gc callback is lost, the next one is not
        previous = signal.signal(signal.SIGALRM, _interrupt)
        signal.setitimer(signal.ITIMER_REAL, ALARM, 0.5)
    started = time.perf_counter()
    try:
        with address_space_guard():
            result = RUNNER.invoke(app, [*command, "-"], input=data, catch_exceptions=True)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return result, time.perf_counter() - started


def _interrupt(signum, frame):
    raise CaseTimeout(f"case interrupted after {ALARM} s")


# ----------------------------------------------------------------------------------------------- the oracle

def run_case(data: bytes, command: tuple[str, ...]) -> None:
    """Run one mutated spec through the CLI and check the contract."""
    note(f"command: cnncalc {' '.join(command)} -")
    note("spec:\n" + data.decode("utf-8", "replace"))
    result, elapsed = invoke(data, command)
    if elapsed >= BUDGET and not isinstance(result.exception, CaseTimeout):
        result, elapsed = invoke(data, command)  # once more: a loaded machine, a garbage collection
    exc = result.exception
    out_of_memory = result.exit_code == 2 and "error: out of memory" in result.stderr
    assert not out_of_memory, "more than 1 GB for one case: " + result.stderr
    if exc is not None and not isinstance(exc, SystemExit):
        raise exc  # a crash or a hang: hypothesis shrinks it and shows the spec
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        doc = json.loads(result.stdout)  # exactly one document: json.loads refuses trailing data
        assert isinstance(doc, dict) and doc.get("schema_version") == 1
        assert result.stderr == ""
    else:
        assert result.stdout == ""
        assert ERROR.match(result.stderr), result.stderr
        assert result.stderr.count("error:") == 1, result.stderr
    assert elapsed < BUDGET, f"{elapsed:.2f} s"


# ----------------------------------------------------------------------------------- YAML-level mutations

@lru_cache(maxsize=None)
def tree_of(path: Path):
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


@lru_cache(maxsize=None)
def names_in(path: Path) -> tuple[str, ...]:
    """Strings the spec uses (layer, block and parameter names): good replacement values."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                found.add(str(k))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            found.add(node)
    walk(tree_of(path))
    return tuple(sorted(found))


ATTRIBUTES = sorted({f.name for cls in REGISTRY.values() for f in fields_of(cls)})
KEYS = ATTRIBUTES + ["name", "type", "input", "inputs", "repeat", "call", "layers", "blocks", "params",
                     "description", "channels", "height", "width", "features", "<<", "$out", "", "x" * 300]
VALUES = [0, -1, 1, 2, 3, 7, 64, 10**6, 10**9, 10**12, 2**63 - 1, 2**63, 2**64, 10**30, 10**400, 3.5, 0.0, -2.5,
          1e300, True,
          False, None, "3", "abc", "input", "same", "valid", "relu", "conv", "", "a/b", "s.0", "s.99", "$out",
          "x" * 1000, [], [3], [3, 3], [3, 3, 3], [1, 2, 3, 4], [0, 0], [-1, 5], ["input"], ["input", "input"], {},
          {"a": 1}, {"type": "relu"}, {"channels": 3, "height": 8, "width": 8}, [{"type": "relu"}]]
RAW = ["on", "off", "yes", "no", "y", "010", "0x1F", "0o17", "1_000", "1e3", "3.0", ".nan", ".inf", "-.inf", "~",
       "null", "!!python/object/apply:os.getcwd []", "!!str 3", "!!int 3", "!custom x", "*undefined", "&anchor 3",
       "'3'", '"\\q"', '"\\x07"', "@x", "`x`", "{", "[", "}", "]", "9" * 5000, "0²", "-0", "+3", "3 # comment",
       "|\n  block", ">", "? complex", "- item", "<<: {}", "\t3", "'unterminated"]

DROP = object()


def paths(node, prefix=()) -> list[tuple]:
    """Every position in the tree: mapping values (by key) and list items (by index)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


def get(node, path):
    for step in path:
        node = node[step]
    return node


def edit(node, path, fn):
    """A copy of `node` with the parent of `path` replaced by `fn(parent, last step)` (copy on the path only)."""
    if len(path) == 1:
        return fn(node, path[0])
    head = path[0]
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = edit(node[head], path[1:], fn)
    return copy


class Mutation:
    """Mutations that need raw YAML text are written as a placeholder and substituted after dumping."""

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}
        self.duplicates: dict[str, str] = {}

    def placeholder(self, text: str) -> str:
        key = f"RAWTOKEN{len(self.raw)}ZZ"
        self.raw[key] = text
        return key

    def duplicate_key(self, key: str) -> str:
        marker = f"DUPKEY{len(self.duplicates)}ZZ"
        self.duplicates[marker] = key
        return marker

    def render(self, tree) -> str:
        text = yaml.dump(tree, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=None, width=10**6,
                         allow_unicode=True)
        for marker, key in self.duplicates.items():
            text = text.replace(marker, key)
        for marker, raw in self.raw.items():
            text = text.replace(marker, raw)
        return text


OPERATIONS = ["drop", "duplicate", "rename-key", "replace", "raw", "swap-type", "number", "swap-items", "name",
              "splice"]


def mutate_once(draw, tree, mutation: Mutation, spec: Path):
    candidates = [p for p in paths(tree) if p]
    if not candidates:
        return draw(st.sampled_from(VALUES))
    path = draw(st.sampled_from(candidates))
    op = draw(st.sampled_from(OPERATIONS))
    old = get(tree, path)
    note(f"{op} at {path!r}")

    def on_parent(fn):
        return edit(tree, path, fn)

    if op == "drop":
        def fn(parent, step):
            copy = dict(parent) if isinstance(parent, dict) else list(parent)
            del copy[step]
            return copy
        return on_parent(fn)
    if op == "duplicate":
        def fn(parent, step):
            if isinstance(parent, dict):  # a real duplicate key in the YAML text
                items = list(parent.items())
                at = [k for k, _ in items].index(step)
                items.insert(at + 1, (mutation.duplicate_key(str(step)), draw(st.sampled_from([old] + VALUES))))
                return dict(items)
            copy = list(parent)
            copy.insert(step + 1, old)
            return copy
        return on_parent(fn)
    if op == "rename-key":
        def fn(parent, step):
            if not isinstance(parent, dict):
                return parent
            new_key = draw(st.sampled_from(KEYS + list(names_in(spec)[:50])))
            if new_key in parent and new_key != step:
                new_key = mutation.duplicate_key(new_key)
            return {(new_key if k == step else k): v for k, v in parent.items()}
        return on_parent(fn)
    if op == "swap-items":
        def fn(parent, step):
            if not isinstance(parent, list) or len(parent) < 2:
                return parent
            other = draw(st.integers(0, len(parent) - 1))
            copy = list(parent)
            copy[step], copy[other] = copy[other], copy[step]
            return copy
        return on_parent(fn)
    if op == "replace":
        new = draw(st.sampled_from(VALUES))
    elif op == "raw":
        new = mutation.placeholder(draw(st.sampled_from(RAW)))
    elif op == "name":
        new = draw(st.sampled_from(names_in(spec)))
    elif op == "splice":  # a piece of another bundled spec: other layer types, blocks, references
        donor = tree_of(draw(st.sampled_from(SPECS)))
        new = get(donor, draw(st.sampled_from(paths(donor))))
    elif op == "swap-type":
        if isinstance(old, bool) or old is None:
            new = draw(st.sampled_from([str(old).lower(), [old], 1]))
        elif isinstance(old, int):
            new = draw(st.sampled_from([str(old), [old], [old, old, old], {"value": old}, True]
                                       + ([float(old)] if abs(old) < 2**1000 else [])))
        elif isinstance(old, str):
            new = draw(st.sampled_from([[old], {old: None}, {old: {}}, 3, None, old + ".0", old + ".1", old + ".",
                                        old + ".\u00b2", old + "." + "9" * 30, "$" + old, old.upper(), old * 2]))
        elif isinstance(old, list):
            new = draw(st.sampled_from([old[0] if old else None, {str(i): v for i, v in enumerate(old)}, [old],
                                        str(old)]))
        elif isinstance(old, dict):
            new = draw(st.sampled_from([list(old.values()), list(old), str(old), None]))
        else:  # a float
            new = draw(st.sampled_from([int(old) if old == old and abs(old) < 1e300 else 0, str(old), [old]]))
    else:  # number
        if isinstance(old, int) and not isinstance(old, bool):
            new = draw(st.sampled_from([0, -1, -old, old + 1, old * 1000, old * 10**9, 2**63, 10**100,
                                        mutation.placeholder("9" * 4500), str(old), f"{old}.5"]
                                       + ([old + 0.5] if abs(old) < 2**1000 else [])))
        else:
            new = draw(st.sampled_from([0, -1, 10**12, "7"]))
    return on_parent(lambda parent, step: _set(parent, step, new))


def _set(parent, step, value):
    copy = dict(parent) if isinstance(parent, dict) else list(parent)
    copy[step] = value
    return copy


@st.composite
def yaml_mutants(draw, spec: Path) -> bytes:
    tree = tree_of(spec)
    mutation = Mutation()
    for _ in range(draw(st.integers(1, 3))):
        tree = mutate_once(draw, tree, mutation, spec)
    return mutation.render(tree).encode("utf-8")


# ----------------------------------------------------------------------------------- byte-level mutations

INTERESTING = [b"\t", b"\x00", b"\xff", b"\xc3", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\r", b"\n", b":", b": ", b"-",
               b"- ", b"[", b"]", b"{", b"}", b",", b"&a ", b"*a", b"!", b"!!python/name:os.system ", b"#", b"'",
               b'"', b"|", b">", b"%", b"@", b"`", b"?", b"---\n", b"...\n", b"0", b"9" * 30, b"-1", b" ", b"  ",
               b"\x1b[2J", b"\xed\xa0\x80"]


@st.composite
def byte_mutants(draw, spec: Path) -> bytes:
    data = bytearray(spec.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            data += draw(st.sampled_from(INTERESTING))
            continue
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "replace"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "duplicate":
            size = draw(st.integers(1, 64))
            data[at:at] = data[at:at + size]
        else:
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


# ----------------------------------------------------------------------------------------------- the tests

@lru_cache(maxsize=None)
def layer_count(spec: Path) -> int:
    return len(cnncalc.load(spec.read_text(), str(spec)).nodes)


def examples_for(spec: Path, total: int) -> int:
    """More cases for small specs (cheap) than for large ones; `total` over all specs, roughly."""
    weights = {s: 1 / (layer_count(s) + 40) for s in SPECS}
    share = weights[spec] / sum(weights.values())
    return max(20, round(total * share * SCALE))


IDS = [str(s.relative_to(ROOT / "specs")) for s in SPECS]


def test_every_bundled_spec_loads():
    assert len(SPECS) >= 20
    assert all(layer_count(s) > 1 for s in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_yaml_level_mutations(spec: Path):
    @settings(PROFILE, max_examples=examples_for(spec, 3000))
    @given(data=yaml_mutants(spec), command=st.sampled_from(COMMANDS))
    def check(data: bytes, command: tuple[str, ...]) -> None:
        CASES["yaml"] += 1
        run_case(data, command)
    check()
    DONE.add(f"yaml:{spec}")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_byte_level_mutations(spec: Path):
    @settings(PROFILE, max_examples=examples_for(spec, 2200))
    @given(data=byte_mutants(spec), command=st.sampled_from(COMMANDS))
    def check(data: bytes, command: tuple[str, ...]) -> None:
        CASES["bytes"] += 1
        run_case(data, command)
        # The library on the same text, undecodable bytes kept as lone surrogates: SpecError or a graph.
        try:
            cnncalc.load(data.decode("utf-8", "surrogateescape"), "fuzz.yaml")
        except cnncalc.SpecError:
            pass
    check()
    DONE.add(f"bytes:{spec}")


def test_cases_per_run():
    """Runs last (file order): the number of cases of this session, at least 5,000 when the whole file ran."""
    total = CASES["yaml"] + CASES["bytes"]
    print(f"fuzz cases this run: {CASES['yaml']} YAML-level + {CASES['bytes']} byte-level = {total}")
    if len(DONE) == 2 * len(SPECS) and SCALE >= 1:
        assert total >= 5000
