"""Regenerate the README sections that the tool itself can print, so they can never drift from it.

    python scripts/update_readme.py          # rewrite README.md in place
    python scripts/update_readme.py --check  # exit 1 if README.md is out of date (tests run this)

Sections are delimited by `<!-- BEGIN name -->` and `<!-- END name -->`.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc import conventions  # noqa: E402
from cnncalc.analyzers import Step  # noqa: E402
from cnncalc.layers import REGISTRY  # noqa: E402
from cnncalc.report.table import convention_text, layer_rules, rule_text  # noqa: E402


def _load(path: Path) -> cnncalc.Graph:
    return cnncalc.load(path.read_text(), str(path.relative_to(ROOT)))


def _last_field(doc: dict) -> str:
    """Receptive field of the last spatial layer: size / jump / padding; where that layer is global only through
    channel gates (squeeze-and-excitation), its local field, marked with *."""
    for row in reversed(doc["layers"]):
        if not row["global"] or "local" in row:
            h = row["local" if row["global"] else "rf"]["height"]
            return f"{h['size']} / {h['jump']} / {h['padding']}{'*' if row['global'] else ''} at `{row['name']}`"
    return "global"


def zoo_table() -> str:
    lines = ["| network | input | parameters | MACs | fvcore | ptflops | receptive field (size / jump / padding) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for path in sorted((ROOT / "specs" / "zoo").glob("*.yaml")):
        graph = _load(path)
        totals = {name: cnncalc.cost_report(graph, name)["totals"] for name in conventions.names()}
        lines.append(f"| {path.stem} | {'x'.join(map(str, graph.input))} | {totals['cnncalc']['params']:,} | "
                     f"{totals['cnncalc']['macs']:,} | {totals['fvcore']['macs']:,} | {totals['ptflops']['macs']:,} | "
                     f"{_last_field(cnncalc.rf_report(graph))} |")
    return "\n".join(lines)


def convention() -> str:
    return "```\n" + convention_text() + "\n```"


def _families() -> dict[str, list[str]]:
    """Layer types by the module that defines them (modules in name order, types in registration order), each
    family titled by the start of its module's docstring ("Pooling layers: ..." -> "pooling layers")."""
    families: dict[str, list[str]] = {}
    for name, cls in sorted(REGISTRY.items(), key=lambda item: item[1].__module__):  # stable: registration order
        families.setdefault(cls.__module__, []).append(name)
    return {_family_title(module): names for module, names in families.items()}


def _family_title(module: str) -> str:
    doc = (sys.modules[module].__doc__ or module).strip()
    title = doc.split(":")[0].split(".")[0].strip()
    return title[0].lower() + title[1:]


def _types(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def layer_types() -> str:
    """The layer registry, family by family."""
    return "\n".join(_bullet(f"- {title}: {_types(names)}") for title, names in _families().items())


def counting() -> str:
    """Each layer type's `counting` text; types that count alike share one line."""
    rules: dict[str, list[str]] = {}
    for names in _families().values():
        for name in names:
            rules.setdefault(REGISTRY[name].counting, []).append(name)
    return "\n".join(_bullet(f"- {_types(names)}: {rule}") for rule, names in rules.items())


def _by_rule(rule: Callable[[str], str]) -> dict[str, list[str]]:
    """Layer types grouped by the text `rule` gives each (family order, as `counting`)."""
    groups: dict[str, list[str]] = {}
    for names in _families().values():
        for name in names:
            groups.setdefault(rule(name), []).append(name)
    return groups


def _rules(name: str) -> dict:
    return layer_rules(name, REGISTRY[name])


def backward_rules() -> str:
    """Each layer type's backward rule, as `cnncalc layers --rule backward` prints it."""
    return "\n".join(_bullet(f"- {_types(names)}: {rule}")
                     for rule, names in _by_rule(lambda name: _rules(name)["backward"]).items())


def memory_convention() -> str:
    """The memory rules of cnncalc/analyzers/memory_bytes.py's docstring, as `cnncalc layers --rule memory`."""
    text = rule_text("memory")
    return "```\n" + text[text.index("The rules, stated once"):] + "\n```"


def _kept(name: str) -> str:
    rules = _rules(name)
    pytorch = f"; `--convention pytorch`: {rules['saves_pytorch']}" if rules["saves_pytorch"] != rules["saves"] else ""
    return f"output {rules['storage']}; kept: {rules['saves']}{pytorch}"


def memory_rules() -> str:
    """What each layer type keeps for the backward pass and where its output lives (SAVED, PYTORCH, storage)."""
    return "\n".join(_bullet(f"- {_types(names)}: {rule}") for rule, names in _by_rule(_kept).items())


def onnx_forms() -> str:
    """Each layer type's ONNX form (MAPPINGS), as `cnncalc layers --rule onnx` prints it."""
    lines = ["| layer type | ONNX |", "|---|---|"]
    lines += [f"| {_types(names)} | {form.replace('|', '&#124;')} |"
              for form, names in _by_rule(lambda name: _rules(name)["onnx"]).items()]
    return "\n".join(lines)


def _bullet(text: str) -> str:
    return textwrap.fill(text, 116, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)


def conventions_table() -> str:
    """The registered presets: the first paragraph of each statement, and the layer types it counts."""
    lines = ["| convention | the figure it reproduces | layer types it counts (every other type: 0) |",
             "|---|---|---|"]
    for name in conventions.names()[1:]:
        preset = conventions.get(name)
        assert preset is not None
        figure = " ".join(preset.statement.split("\n\n")[0].split())
        counted = [t for t, rule in preset.rules.items() if rule.counted]
        lines.append(f"| `{name}` | {figure.replace('|', '&#124;')} | {', '.join(counted)} |")
    return "\n".join(lines)


_SAMPLE = """input: [3, 8, 8]
blocks:
  b: {layers: [{type: conv, out: 4, kernel: 3, padding: 1, input: input}]}
layers:
  - {type: b, name: x}
  - relu
"""


def _keys(prefix: str, keys: list[str], suffix: str, indent: int) -> list[str]:
    text = prefix + ", ".join(f'"{k}"' for k in keys) + suffix
    return textwrap.wrap(text, 116, subsequent_indent=" " * indent, break_on_hyphens=False, break_long_words=False)


def json_cost() -> str:
    """The cost document's keys, read from real reports: its columns are the metric registry's."""
    graph = cnncalc.load(_SAMPLE, "sample.yaml")
    doc = cnncalc.cost_report(graph)
    row = next(r for r in doc["layers"] if "block" in r)
    fixed = ["name", "type", "inputs", "output", "block"]
    assert list(row)[:5] == fixed and list(row)[5:] == doc["columns"], "update the template in json_cost"
    presets = {name: cnncalc.cost_report(graph, name)["columns"] for name in conventions.names()[1:]}
    lines = ["```",
             'cost:    {"schema_version": 1, "spec", "input": [C, H, W], "convention", "columns": [...],',
             *_keys('          "layers": [{"name", "type", "inputs": [...], "output": [C, H, W], "block"?, ',
                    doc["columns"], "}, ...],", 22),
             *_keys('          "totals": {', list(doc["totals"]), "},", 21),
             '          "diagnostics": [{"severity", "code", "message", "layers": [...]}, ...]}']
    training = cnncalc.cost_report(graph, step=Step(optimizer="sgd"))
    added = [c for c in training["columns"] if c not in doc["columns"]]
    lines += textwrap.wrap(f"          (--training: \"training\": {{\"batch\", \"optimizer\"}} after \"convention\", and "
                           f"the columns {', '.join(added)}; the optimizer's only with --optimizer)", 116,
                           subsequent_indent=" " * 11, break_on_hyphens=False)
    for columns in dict.fromkeys(map(tuple, presets.values())):
        names = "|".join(name for name, c in presets.items() if tuple(c) == columns)
        lines += textwrap.wrap(f"          (--convention {names}: the columns are {', '.join(columns)}, macs being "
                               "the tool's figure; --group-by: \"groups\": [{\"group\", \"layers\", ...totals}] "
                               "instead of \"layers\")", 116, subsequent_indent=" " * 11, break_on_hyphens=False)
    return "\n".join(lines + ["```"])


def optimizers() -> str:
    """The optimizer table of `--optimizer`, from its registry."""
    from cnncalc.analyzers.optimizer import OPTIMIZERS
    lines = ["| --optimizer | PyTorch | state per parameter | mults | adds | square roots |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {o.name} | `{o.pytorch}` | {o.state} | {o.mults} | {o.adds} | {o.roots} |" for o in OPTIMIZERS.values()]
    return "\n".join(lines)


def training_figures() -> str:
    """One training step of ResNet-50 per image, and at batch 32 with Adam, from the tool."""
    graph = _load(ROOT / "specs" / "zoo" / "resnet50.yaml")
    one = cnncalc.cost_report(graph, step=Step())["totals"]
    big = cnncalc.cost_report(graph, step=Step(32, "adam"))["totals"]
    return "\n".join([
        "| resnet50, 3x224x224 | forward MACs | backward MACs | training MACs | optimizer mults | optimizer state |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `--training` (one image) | {one['macs']:,} | {one['backward_macs']:,} | {one['training_macs']:,} | - | - |",
        f"| `--training --batch 32 --optimizer adam` | {big['macs']:,} | {big['backward_macs']:,} | "
        f"{big['training_macs']:,} | {big['optimizer_mults']:,} | {big['optimizer_state']:,} |"])


def _mib(n: int) -> str:
    return f"{n:,} ({n / 2**20:,.1f} MiB)"


def memory_figures() -> str:
    """ResNet-50's memory at batch 32, fp32 and fp16, with SGD and with Adam, from `cnncalc memory` itself."""
    network = cnncalc.read(str(ROOT / "specs" / "zoo" / "resnet50.yaml"))
    lines = ["| resnet50, 3x224x224, batch 32 | parameters | gradients | optimizer state | kept for backward | "
             "peak inference | peak training |", "|---|---:|---:|---:|---:|---:|---:|"]
    for dtype in ("float32", "float16"):
        for optimizer in ("sgd", "adam"):
            t = network.memory(dtype, 32, training=True, optimizer=optimizer).to_json()["totals"]
            lines.append(f"| `--dtype {dtype} --optimizer {optimizer}` | {_mib(t['parameter_bytes'])} | "
                         f"{_mib(t['gradient_bytes'])} | {_mib(t['optimizer_state_bytes'])} | "
                         f"{_mib(t['saved_activation_bytes'])} | {_mib(t['peak_inference_bytes'])} | "
                         f"{_mib(t['peak_training_bytes'])} |")
    return "\n".join(lines)


def _printed(report: cnncalc.api.Report, command: str, width: int = 80) -> str:
    """What `command` prints at `width` columns, as a console block."""
    from cnncalc.report.render import render_at
    text = report.format(lambda *items: render_at(items, width))
    return "```console\n$ COLUMNS=" + str(width) + " " + command + "\n" + \
        "\n".join(line.rstrip() for line in text.splitlines()) + "\n```"


def rf_picture() -> str:
    """`cnncalc rf specs/hw5.yaml --at 0,0 --show`: the homework's y3 field at the corner."""
    return _printed(cnncalc.read(str(ROOT / "specs" / "hw5.yaml")).rf(at=(0, 0)).with_picture(),
                    "cnncalc rf specs/hw5.yaml --at 0,0 --show")


def cost_sorted() -> str:
    """`cnncalc cost specs/hw5.yaml --sort macs`."""
    return _printed(cnncalc.read(str(ROOT / "specs" / "hw5.yaml")).cost().sorted("macs"),
                    "cnncalc cost specs/hw5.yaml --sort macs", 100)


def cost_plot() -> str:
    """`cnncalc cost specs/zoo/resnet18.yaml --input 32:1024:32 --plot`."""
    return _printed(cnncalc.read(str(ROOT / "specs" / "zoo" / "resnet18.yaml")).cost_sweep("32:1024:32").with_plot(),
                    "cnncalc cost specs/zoo/resnet18.yaml --input 32:1024:32 --plot")


def formats() -> str:
    """The `--format` registry, and what three of them print for specs/hw5.yaml (the first lines)."""
    from cnncalc.report.formats import FORMATS
    lines = ["| `--format` | writes |", "|---|---|"]
    lines += [f"| `{f.name}` | {f.help} |" for f in FORMATS.values()]
    report = cnncalc.read(ROOT / "specs" / "hw5.yaml").cost()
    for name, count in (("csv", 3), ("jsonl", 2), ("markdown", 5)):
        text = FORMATS[name].write(report)
        lines += ["", f"    $ cnncalc cost specs/hw5.yaml --format {name}"]
        lines += [f"    {line}".rstrip() for line in text.splitlines()[:count]] + ["    ..."]
    return "\n".join(lines)


SECTIONS = {"zoo": zoo_table, "convention": convention, "layer-types": layer_types, "counting": counting,
            "conventions": conventions_table, "json-cost": json_cost, "optimizers": optimizers,
            "training": training_figures, "memory": memory_figures, "rf-picture": rf_picture,
            "cost-sorted": cost_sorted, "cost-plot": cost_plot, "formats": formats, "backward-rules": backward_rules,
            "memory-convention": memory_convention, "memory-rules": memory_rules, "onnx-forms": onnx_forms}


def render(readme: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(\n<!-- END {name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no section {name}")
        readme = pattern.sub(lambda m: m.group(1) + make() + m.group(2), readme)
    return readme


def main() -> int:
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if "--check" in sys.argv:
        if new != old:
            print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
