"""Hostile and huge input: refused quickly, in little memory, with a message naming the limit and how to raise it.

Each hostile spec runs in a fresh process (`python -m cnncalc` semantics through a small driver) that reports its
own wall time and peak resident memory: `resource.getrusage(RUSAGE_SELF).ru_maxrss`, and on Linux also VmHWM from
/proc/self/status, which is what is asserted there. (On Linux ru_maxrss survives fork and exec: a child of a large
pytest process starts with the parent's resident size as its "peak"; VmHWM belongs to the new address space.)
The bounds asserted here (5 s, 200 MB) are loose on purpose so that a loaded 2-core CI machine does not flake;
typical figures are a few tenths of a second and 30-50 MB, interpreter start-up included.

Also: Python tags are never constructed, huge but legal sizes give exact integers, `--output` is atomic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 5.0
MEGABYTES = 200

DRIVER = r"""
import json, resource, sys, time
start = time.perf_counter()
code = 0
try:
    sys.argv = ["cnncalc"] + sys.argv[1:]
    from cnncalc.cli import main
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
maxrss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
hwm = None
try:
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
with open(REPORT, "w") as handle:
    json.dump({"code": code, "seconds": seconds, "maxrss_mb": maxrss, "hwm_mb": hwm,
               "peak_mb": hwm if hwm is not None else maxrss}, handle)
"""


def measure(tmp_path: Path, args: list[str], stdin: Path | None = None) -> dict:
    """Run the CLI in a fresh process; its exit code, stdout, stderr, wall time and peak memory."""
    report = tmp_path / "usage.json"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.replace("REPORT", repr(str(report))))
    started = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as handle:
        done = subprocess.run([sys.executable, str(driver), *args], stdin=handle, capture_output=True,
                              timeout=120, cwd=ROOT)
    wall = time.perf_counter() - started
    usage = json.loads(report.read_text())
    result = {"code": done.returncode, "stdout": done.stdout.decode(), "stderr": done.stderr.decode(),
              "wall": wall, **usage}
    print(f"{' '.join(args)[-60:]}: exit {result['code']}, {wall:.2f} s wall ({usage['seconds']:.2f} s in cnncalc), "
          f"peak {usage['peak_mb']:.0f} MB (ru_maxrss {usage['maxrss_mb']:.0f} MB)")
    return result


def refused(result: dict, *fragments: str) -> None:
    assert result["code"] == 2, result["stderr"]
    assert result["stdout"] == ""
    assert "Traceback" not in result["stderr"]
    assert result["stderr"].count("error:") == 1
    for fragment in fragments:
        assert fragment in result["stderr"], result["stderr"]
    assert result["wall"] < SECONDS, f"took {result['wall']:.1f} s"
    assert result["peak_mb"] < MEGABYTES, f"peak {result['peak_mb']:.0f} MB"


# ------------------------------------------------------------------------------------------------- alias bombs

def billion_laughs(levels: int = 12, width: int = 10) -> str:
    """`width`**`levels` leaves (10**12) from a file of a few hundred bytes."""
    lines = ["input: [3, 8, 8]", "layers: [relu]", "description:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, "
             "lol, lol]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs(tmp_path: Path):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(billion_laughs())
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "more than 5,000,000 YAML values",
            "raise the limit with --max-bytes")


def test_alias_bomb_in_the_layer_list(tmp_path: Path):
    """Aliases that are layers: each use counts, so the expansion is refused, not built."""
    lines = ["input: [3, 8, 8]", "blocks:", "  b:", "    layers: &l0 [relu, relu, relu, relu, relu, relu, relu, relu]"]
    for i in range(1, 9):
        lines.append(f"  b{i}: {{layers: &l{i} [" + ", ".join([f"*l{i - 1}"] * 8) + "]}")
    lines.append("layers: *l8")
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "raise the limit with --max")


def test_alias_bomb_library_call_is_quick():
    started = time.perf_counter()
    with pytest.raises(cnncalc.SpecError, match="YAML values"):
        cnncalc.load(billion_laughs(levels=30), "bomb.yaml")
    assert time.perf_counter() - started < SECONDS


# ------------------------------------------------------------------------------------------- deep nesting

def test_deeply_nested_flow_document(tmp_path: Path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers: [relu]\ndescription: " + "[" * 200_000 + "]" * 200_000 + "\n")
    result = measure(tmp_path, ["cost", "--json", str(spec)])
    refused(result, "nested deeper than 64 levels", "the limit is fixed")
    assert len(result["stderr"]) < 1000  # the 400 kB line is cut around the caret


def test_deeply_nested_block_document(tmp_path: Path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers: [relu]\ndescription:\n"
                    + "".join(" " * i + f"k{i}:\n" for i in range(1, 1000)))
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "nested deeper than 64 levels")


def test_blocks_doubling_twenty_four_times(tmp_path: Path):
    """Each block uses the next twice, 24 deep (2**24 layers): refused before any expansion."""
    lines = ["input: [3, 8, 8]", "blocks:"] + [f"  b{i}: {{layers: [b{i + 1}, b{i + 1}]}}" for i in range(24)]
    lines += ["  b24: {layers: [relu]}", "layers: [b0]"]
    spec = tmp_path / "deep.yaml"
    spec.write_text("\n".join(lines) + "\n")
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "more than 100,000 layers",
            "raise the limit with --max-layers")


def test_blocks_nested_too_deep(tmp_path: Path):
    lines = ["input: [3, 8, 8]", "blocks:"] + [f"  b{i}: {{layers: [b{i + 1}]}}" for i in range(40)]
    lines += ["  b40: {layers: [relu]}", "layers: [b0]"]
    spec = tmp_path / "deep.yaml"
    spec.write_text("\n".join(lines) + "\n")
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "blocks nested deeper than 32 levels",
            "b0 -> b1 -> b2 -> ... -> b32")


# --------------------------------------------------------------------------------------------- huge files

@pytest.fixture(scope="module")
def file_of_100_mb(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "huge.yaml"
    line = b"  - {type: relu}\n"
    block = b"input: [3, 8, 8]\nlayers:\n" + line * ((1 << 20) // len(line))
    with open(path, "wb") as handle:
        for _ in range(100):
            handle.write(block)
    assert path.stat().st_size >= 100_000_000
    yield path
    path.unlink()  # pytest keeps the last three temporary directories: not 100 MB each


def test_file_of_100_mb(tmp_path: Path, file_of_100_mb: Path):
    refused(measure(tmp_path, ["cost", "--json", str(file_of_100_mb)]), "more than the limit of 10,000,000",
            "raise the limit with --max-bytes")


def test_file_of_100_mb_on_standard_input(tmp_path: Path, file_of_100_mb: Path):
    """Standard input has no size: it is read only up to the limit, then refused."""
    refused(measure(tmp_path, ["validate", "-"], stdin=file_of_100_mb), "more than the limit of 10,000,000",
            "raise the limit with --max-bytes")


def test_many_layers_refused_before_they_are_built(tmp_path: Path):
    """200,000 entries with a limit of 1,000 layers: the list is refused as a whole, before any entry is read."""
    spec = tmp_path / "long.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * 200_000)
    result = measure(tmp_path, ["cost", "--json", "--max-layers", "1000", str(spec)])
    assert result["code"] == 2 and "more than 1,000 layers" in result["stderr"]
    assert "raise the limit with --max-layers" in result["stderr"]
    assert result["stderr"].startswith(f"{spec}:1003:5: error:")
    assert result["wall"] < SECONDS and result["peak_mb"] < MEGABYTES


# ---------------------------------------------------------------------------------------- expansion limits

def test_repeat_of_a_billion(tmp_path: Path):
    spec = tmp_path / "repeat.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - {type: relu, repeat: 1000000000}\n")
    result = measure(tmp_path, ["cost", "--json", str(spec)])
    refused(result, "more than 100,000 layers", "raise the limit with --max-layers")
    assert result["stderr"].startswith(f"{spec}:3:18: error:")


def test_block_expanding_beyond_the_limit(tmp_path: Path):
    spec = tmp_path / "blocks.yaml"
    spec.write_text("input: [3, 8, 8]\nblocks:\n  b: {layers: [{type: relu, repeat: 1000}]}\n"
                    "  c: {layers: [{type: b, repeat: 1000}]}\n  d: {layers: [{type: c, repeat: 1000}]}\n"
                    "layers: [d]\n")
    refused(measure(tmp_path, ["cost", "--json", str(spec)]), "more than 100,000 layers",
            "raise the limit with --max-layers")


def test_raised_layer_limit_is_honoured(tmp_path: Path):
    spec = tmp_path / "blocks.yaml"
    spec.write_text("input: [3, 8, 8]\nblocks:\n  b: {layers: [{type: relu, repeat: 100}]}\nlayers: [{type: b, "
                    "repeat: 20}]\n")
    result = CliRunner().invoke(app, ["cost", "--json", "--max-layers", "1999", str(spec)])
    assert result.exit_code == 2 and "more than 1,999 layers" in result.stderr
    result = CliRunner().invoke(app, ["cost", "--json", "--max-layers", "2000", str(spec)])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["layers"]) == 2000


# ----------------------------------------------------------------------------------------- python tags

PYTHON_TAGS = [
    "!!python/object/apply:os.system [touch {marker}]",
    "!!python/object/apply:subprocess.call [[touch, {marker}]]",
    "!!python/object/new:os.system [touch {marker}]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:builtins.object {{}}",
]


@pytest.mark.parametrize("tag", PYTHON_TAGS)
def test_python_tags_are_never_constructed(tag: str, tmp_path: Path):
    marker = tmp_path / "constructed"
    value = tag.format(marker=marker)
    for text in (f"input: [3, 8, 8]\nlayers:\n  - {value}\n",
                 f"input: [3, 8, 8]\ndescription: {value}\nlayers: [relu]\n",
                 f"input: [3, 8, 8]\nblocks:\n  b:\n    params:\n      - x: {value}\n    layers: [relu]\n"
                 "layers: [b]\n"):
        with pytest.raises(cnncalc.SpecError, match="is not allowed in a spec"):
            cnncalc.load(text, "tags.yaml")
        spec = tmp_path / "tags.yaml"
        spec.write_text(text)
        result = CliRunner().invoke(app, ["cost", "--json", str(spec)])
        assert result.exit_code == 2 and result.stdout == "" and "is not allowed in a spec" in result.stderr
    assert not marker.exists()


def test_no_unsafe_yaml_loader_in_the_source():
    source = "\n".join(p.read_text() for p in (ROOT / "cnncalc").rglob("*.py"))
    for unsafe in ("yaml.load(", "yaml.Loader", "UnsafeLoader", "FullLoader", "unsafe_load", "full_load"):
        assert unsafe not in source


# ---------------------------------------------------------------------------------------- huge legal sizes

def _cost(text: str) -> dict:
    result = CliRunner().invoke(app, ["cost", "--json", "-"], input=text)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _exact(doc: dict) -> None:
    """Every count is a non-negative Python int (no float, no overflow wrapping)."""
    for row in doc["layers"] + [doc["totals"]]:
        for key, value in row.items():
            if key in ("params", "buffers", "mults", "adds", "comparisons", "activations", "macs"):
                assert type(value) is int and value >= 0, (key, value)


def test_channels_of_ten_to_the_twelve():
    c = 10**12
    doc = _cost(f"input: [{c}, 7, 7]\nlayers:\n  - {{type: conv, out: {c}, kernel: 3, padding: 1}}\n"
                f"  - {{type: conv, out: {c}, kernel: 1, groups: {c}, bias: false}}\n  - batchnorm\n"
                f"  - global_avgpool\n  - flatten\n  - {{type: linear, out: {c}}}\n")
    _exact(doc)
    conv, depthwise, bn, pool, _, fc = doc["layers"]
    assert conv["output"] == [c, 7, 7]
    assert conv["params"] == c * c * 9 + c
    assert conv["macs"] == conv["mults"] == c * 49 * c * 9
    assert conv["adds"] == c * 49 * c * 9
    assert depthwise["params"] == c and depthwise["macs"] == c * 49 and depthwise["adds"] == 0
    assert bn["params"] == 2 * c and bn["buffers"] == 2 * c and bn["mults"] == bn["adds"] == c * 49
    assert pool["adds"] == c * 48 and pool["mults"] == c
    assert fc["params"] == c * c + c and fc["macs"] == c * c
    assert doc["totals"]["params"] == (c * c * 9 + c) + c + 2 * c + (c * c + c)
    assert doc["totals"]["macs"] == c * 49 * c * 9 + c * 49 + c * c
    assert doc["totals"]["macs"] > 2**63  # beyond int64: still exact


def test_input_of_a_million_by_a_million():
    n = 10**6
    doc = _cost(f"input: [3, {n}, {n}]\nlayers:\n  - {{type: conv, out: 64, kernel: 7, stride: 2, padding: 3}}\n"
                "  - {type: maxpool, kernel: 3, stride: 2, padding: 1}\n  - {type: avgpool, kernel: 2}\n"
                "  - global_maxpool\n")
    _exact(doc)
    conv, maxpool, avgpool, gmax = doc["layers"]
    h1 = (n + 2 * 3 - 7) // 2 + 1
    h2 = (h1 + 2 - 3) // 2 + 1
    h3 = h2 // 2
    assert conv["output"] == [64, h1, h1] and maxpool["output"] == [64, h2, h2] and avgpool["output"] == [64, h3, h3]
    assert conv["macs"] == 64 * h1 * h1 * 3 * 49
    assert conv["adds"] == conv["macs"]
    assert maxpool["comparisons"] == 64 * h2 * h2 * 8
    assert avgpool["adds"] == 64 * h3 * h3 * 3 and avgpool["mults"] == 64 * h3 * h3
    assert gmax["comparisons"] == 64 * (h3 * h3 - 1)
    assert doc["totals"]["comparisons"] == 64 * h2 * h2 * 8 + 64 * (h3 * h3 - 1)


def test_receptive_field_of_a_huge_map_is_exact_and_quick():
    n = 10**6
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["rf", "--json", "--at", f"{n // 4 - 1},0", "-"],
                                input=f"input: [3, {n}, {n}]\nlayers:\n  - {{type: conv, out: 8, kernel: 3, stride: 2, "
                                      f"padding: 1}}\n  - {{type: conv, out: 8, kernel: 3, stride: 2, padding: 1}}\n")
    assert result.exit_code == 0, result.stderr
    assert time.perf_counter() - started < SECONDS
    doc = json.loads(result.stdout)
    last = doc["layers"][-1]["rf"]["height"]
    assert (last["size"], last["jump"], last["padding"]) == (7, 4, 3)
    i = n // 4 - 1
    assert doc["at"]["rows"] == [4 * i - 3, 4 * i + 3]


def test_largest_size_is_two_to_the_63_minus_one():
    top = 2**63 - 1
    doc = _cost(f"input: [{top}, 1, 1]\nlayers: [relu, {{type: conv, out: {top}, kernel: 1}}]\n")
    _exact(doc)
    assert doc["layers"][1]["params"] == top * top + top
    with pytest.raises(cnncalc.SpecError, match="too large"):
        cnncalc.load(f"input: [{top + 1}, 1, 1]\nlayers: [relu]\n")


# --------------------------------------------------------------------------------------------- --output

GOOD = "input: [3, 32, 32]\nlayers: [{type: conv, out: 8, kernel: 3}, relu]\n"
BAD = "input: [3, 32, 32]\nlayers: [{type: conv, out: 8, kernel: 3}, rleu]\n"


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


@pytest.mark.parametrize("command", ["cost", "rf"])
def test_output_is_atomic(command: str, tmp_path: Path):
    good, bad, out = tmp_path / "good.yaml", tmp_path / "bad.yaml", tmp_path / "out.json"
    good.write_text(GOOD)
    bad.write_text(BAD)
    out.write_text("old content\n")
    keep = {"good.yaml", "bad.yaml", "out.json"}

    result = CliRunner().invoke(app, [command, "--json", "--output", str(out), str(bad)])
    assert result.exit_code == 2 and "unknown layer type 'rleu'" in result.stderr
    assert out.read_text() == "old content\n"
    assert _leftovers(tmp_path, keep) == []

    result = CliRunner().invoke(app, [command, "--json", "--output", str(out), str(good)])
    assert result.exit_code == 0 and result.stdout == ""
    expected = CliRunner().invoke(app, [command, "--json", str(good)]).stdout
    assert out.read_text() == expected and json.loads(out.read_text())["spec"] == "good"
    assert _leftovers(tmp_path, keep) == []


def test_output_into_a_missing_directory_leaves_nothing(tmp_path: Path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = CliRunner().invoke(app, ["cost", "--json", "--output", str(tmp_path / "no" / "out.json"), str(good)])
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert _leftovers(tmp_path, {"good.yaml"}) == []


def test_output_survives_a_failed_write(tmp_path: Path, monkeypatch):
    """A write that fails half-way (a full disk) leaves the old FILE and no temporary file."""
    good, out = tmp_path / "good.yaml", tmp_path / "out.json"
    good.write_text(GOOD)
    out.write_text("old content\n")
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    result = CliRunner().invoke(app, ["cost", "--json", "--output", str(out), str(good)])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert out.read_text() == "old content\n"
    assert _leftovers(tmp_path, {"good.yaml", "out.json"}) == []
