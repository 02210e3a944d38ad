"""Start-up and scale, checked structurally (never by wall-clock time, which a loaded machine makes flaky):

- `cnncalc cost SPEC --json`, its table and `cnncalc --help` import neither rich nor numpy (nor pydantic, which typer would
  pull in to coerce option values);
- a 50,000-layer chain is analysed (cost, rf, rf --at, JSON) under a recursion limit of 150: no step recurses
  along the graph;
- the work is linear in the number of layers: the Python and C calls made for 5,000 layers are at most 10.5
  times those made for 500 (about 10.2 now; a quadratic step would make them ~100 times).

The timings themselves are in benchmarks/ (startup.py, scale.py, sweep.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")

_IMPORTS = """
import io, sys, contextlib
sys.argv = ["cnncalc"] + {args!r}
from cnncalc.cli import main
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        main()
except SystemExit as exc:
    assert not exc.code, exc.code
assert out.getvalue(), "no output"
print(sorted({{name.split(".")[0] for name in sys.modules}}))
"""


def _modules(args: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _IMPORTS.format(args=args)], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    return set(json.loads(result.stdout.replace("'", '"')))


def _typer_coerces_with_pydantic() -> bool:
    try:
        import typer._coercion  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("args", [["cost", RESNET50, "--json"], ["--help"], ["rf", RESNET50, "--json"],
                                  ["cost", RESNET50, "--format", "csv"], ["rf", RESNET50, "--format", "markdown"]],
                         ids=["cost-json", "help", "rf-json", "cost-csv", "rf-markdown"])
def test_light_commands_import_nothing_heavy(args):
    loaded = _modules(args)
    heavy = {"rich", "numpy"} | ({"pydantic", "pydantic_core"} if _typer_coerces_with_pydantic() else set())
    assert not loaded & heavy, f"{' '.join(args)} imported {sorted(loaded & heavy)}"


def test_table_output_imports_neither_rich_nor_numpy():
    loaded = _modules(["cost", RESNET50])  # tables are plain text from cnncalc.report.render
    assert not loaded & {"rich", "numpy"}, sorted(loaded & {"rich", "numpy"})


def _chain(layers: int) -> str:
    lines = ["input: [4, 16, 16]", "layers:"]
    for i in range(layers):
        lines.append("  - {type: conv, out: 4, kernel: 3, padding: 1}" if i % 10 == 0 else "  - relu")
    return "\n".join(lines) + "\n"


_DEEP = """
import gc, sys
gc.disable()
import cnncalc
text = sys.stdin.read()
sys.setrecursionlimit(150)
network = cnncalc.parse(text, "chain.yaml")
cost = network.cost().json_text()
rf = network.rf(at=(0, 0)).json_text()
print(len(network.graph.layers), len(cost) > 0, len(rf) > 0)
"""


def test_deep_chain_needs_no_recursion():
    result = subprocess.run([sys.executable, "-c", _DEEP], input=_chain(50_000), capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["50000", "True", "True"]


def _mixed(layers: int) -> str:
    """About `layers` layers: repeated residual and concat blocks, then a written-out tail."""
    blocks = layers // 16
    tail = layers - 8 * blocks
    lines = ["input: [8, 32, 32]", "blocks:",
             "  res:", "    layers:",
             "      - {name: a, type: conv, out: 8, kernel: 3, padding: 1, bias: false}",
             "      - {name: b, type: batchnorm}",
             "      - {name: s, type: add, inputs: [b, input]}",
             "      - relu",
             "  inc:", "    layers:",
             "      - {name: p, type: conv, out: 4, kernel: 1, input: input}",
             "      - {name: q, type: conv, out: 4, kernel: 3, padding: same, input: input}",
             "      - {name: c, type: concat, inputs: [p, q]}",
             "      - {type: maxpool, kernel: 3, stride: 1, padding: 1}",
             "layers:",
             f"  - {{type: res, name: r, repeat: {blocks}}}",
             f"  - {{type: inc, name: i, repeat: {blocks}}}"]
    for k in range(tail):
        lines.append(f"  - {{name: t{k}, type: conv, out: 8, kernel: 3, padding: 1}}" if k % 4 == 0
                     else f"  - {{name: t{k}, type: relu}}")
    return "\n".join(lines) + "\n"


def _calls(text: str) -> int:
    import cnncalc
    from cnncalc._fastout import dumps
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call" or event == "c_call":
            count += 1

    sys.setprofile(profile)
    try:
        graph = cnncalc.load(text, "mixed.yaml")
        dumps(cnncalc.cost_report(graph))
        dumps(cnncalc.rf_report(graph, at=(1, 1)))
    finally:
        sys.setprofile(None)
    return count


def test_work_is_linear_in_the_layers():
    small, large = _calls(_mixed(500)), _calls(_mixed(5_000))
    assert large <= 10.5 * small, f"{large:,} calls for 5,000 layers, {small:,} for 500"


def test_light_coercion_matches_typer():
    """The pydantic-free coercers (cnncalc/_typer_fast.py) accept and refuse what typer's own would, alike."""
    pytest.importorskip("typer._coercion")
    import typer.main
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param

    from cnncalc.cli import app
    samples = ["12", " 12 ", "1_000", "+3", "-0", "00012", "1.0", "1.5", "0x10", "1e3", "", "abc", "\uff11",
               "true", "False", "yes", "off", "maybe", "cnncalc", "fvcore", "CNNCALC", "out.json", "-", "a b"]
    checked = 0
    for command in typer.main.get_command(app).commands.values():
        for param in command.params:
            light = getattr(param, "_runtime_param", None)
            if light is None or type(light).__name__ != "_Light":
                continue
            heavy = build_runtime_param(param.type_descriptor)
            for value in samples + [("a", "b")] * (light.kind == "strs"):
                outcomes = []
                for coercer in (light, heavy):
                    try:
                        outcomes.append(("ok", coercer.coerce(value, param=param, ctx=None)))
                    except BadParameter as exc:
                        outcomes.append(("error", exc.message))
                assert outcomes[0] == outcomes[1], (command.name, param.name, value)
                checked += 1
    assert checked > 100
