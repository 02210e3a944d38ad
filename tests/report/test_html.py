"""`cnncalc report`: the HTML page's figures are those of `cost --json`, it is self-contained, and names from a spec
are text, never markup. (tests/report/test_browser.py opens it in a real browser.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

ROOT = Path(__file__).resolve().parents[2]
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")
DENSENET = str(ROOT / "specs" / "zoo" / "densenet121.yaml")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


class Page(HTMLParser):
    """What the tests read from the page: the data island, the totals cards, the table's cells, every resource
    reference, the graph's nodes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.island = ""
        self.totals: dict[str, int] = {}
        self.cells: list[dict[str, str]] = []
        self.references: list[str] = []
        self.nodes: dict[str, list[dict]] = {}
        self._in_island = False
        self._view = ""
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            if key in a:
                self.references.append(a[key] or "")
        if tag == "script" and a.get("id") == "cnncalc-data":
            self._in_island = True
        if "total" in (a.get("class") or "").split():
            self.totals[a["data-key"]] = int(a["data-v"])
        if tag == "td" and "data-col" in a:
            self.cells.append(a)
        if tag == "svg" and "graph" in (a.get("class") or "").split():
            self._view = a["data-view"]
        if tag == "g" and (a.get("class") or "").startswith("node"):
            self.nodes.setdefault(self._view, []).append(a)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_island = False

    def handle_data(self, data):
        if self._in_island:
            self.island += data


def report(tmp_path: Path, *args: str, input: str | None = None) -> tuple[str, Page]:
    out = tmp_path / "net.html"
    result = run("report", *args, "-o", str(out), input=input)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == "", result.stderr
    text = out.read_text("utf-8")
    return text, Page(text)


def cost_json(*args: str) -> dict:
    result = run("cost", *args, "--json")
    assert result.exit_code == 0
    return json.loads(result.stdout)


TRAINING = ("--training", "--batch", "8", "--optimizer", "adam")


@pytest.mark.parametrize("args", [(NAIVE,), (RESNET50,), (RESNET50, "--convention", "fvcore"),
                                  (RESNET50, "--input", "160"), (RESNET50, *TRAINING), (NAIVE, "--training")],
                         ids=["naive", "resnet50", "fvcore", "input-160", "training-adam", "training"])
def test_totals_and_every_cell_are_those_of_cost_json(tmp_path, args):
    _, page = report(tmp_path, *args)
    doc = cost_json(*args)
    assert page.totals == doc["totals"]  # the cards the reader sees
    assert json.loads(page.island)["cost"] == doc  # the document the page's script reads
    expected = [(row[c], c) for row in doc["layers"] for c in doc["columns"]]
    assert [(int(cell["data-v"]), cell["data-col"]) for cell in page.cells] == expected
    assert len(page.nodes["layers"]) == len(doc["layers"]) + 1  # one node per layer, and the input
    assert [int(n["data-row"]) for n in page.nodes["layers"] if "data-row" in n] == list(range(len(doc["layers"])))


SPECS = sorted((ROOT / "specs").rglob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_every_bundled_spec_makes_a_page_with_one_node_per_layer(tmp_path, spec):
    text, page = report(tmp_path, str(spec))
    doc = cost_json(str(spec))
    assert page.totals == doc["totals"] and len(page.nodes["layers"]) == len(doc["layers"]) + 1


def test_a_fractional_jump_is_plotted_and_written_as_the_rf_report_writes_it(tmp_path):
    # U-Net's decoder upsamples: its mean jumps are fractions ("56/15"), plotted on the log scale below 1 too
    spec = str(ROOT / "specs" / "zoo" / "unet_small.yaml")
    text, _ = report(tmp_path, spec)
    rf = json.loads(run("rf", spec, "--json").stdout)
    fractions = {row["rf"]["height"]["jump"] for row in rf["layers"] if "rf" in row} - {None}
    shown = [j for j in fractions if isinstance(j, str) and f", jump {j}</title>" in text]
    assert shown, "no fractional jump plotted"


def test_the_blocks_view_has_one_node_per_block_instance(tmp_path):
    _, page = report(tmp_path, RESNET50)
    doc = cost_json(RESNET50)
    blocks = {row["block"] for row in doc["layers"] if "block" in row}
    loose = [row for row in doc["layers"] if "block" not in row]
    view = page.nodes["blocks"]
    assert sum(1 for n in view if "data-block" in n) == len(blocks)
    assert len(view) == 1 + len(loose) + len(blocks)
    sums = json.loads(page.island)["blocks"]
    first = [row for row in doc["layers"] if row.get("block") == "layer1_0"]
    assert sums[0]["name"] == "layer1_0" and sums[0]["macs"] == f"{sum(r['macs'] for r in first):,}"


def test_a_training_page_shows_and_shades_the_training_columns(tmp_path):
    text, page = report(tmp_path, RESNET50, *TRAINING)
    doc = cost_json(RESNET50, *TRAINING)
    training = ["backward_macs", "training_macs", "optimizer_state"]
    assert set(training) <= set(doc["columns"])  # what `cost --training --optimizer adam` counts
    options = re.findall(r'<option value="([^"]+)"', text)
    assert options == doc["columns"]  # the shading choice list: every column, the training ones included
    assert all(key in page.totals for key in training)
    assert "one training step, batch <b>8</b>, optimizer <b>adam</b>" in text
    assert "Backward convention" in text  # the convention panel states how the backward pass is counted
    plain_text, plain = report(tmp_path, RESNET50)
    assert "Backward convention" not in plain_text and "backward_macs" not in plain.totals


def test_a_training_sweep_is_that_of_cost(tmp_path):
    _, page = report(tmp_path, NAIVE, "--input", "32:64:32", "--training")
    sweep = json.loads(run("cost", NAIVE, "--input", "32:64:32", "--training", "--json").stdout)
    assert json.loads(page.island)["sweep"] == sweep and "training_macs" in sweep["sweep"][0]


@pytest.mark.parametrize("args, fragment", [(("--batch", "4"), "--batch counts a training step"),
                                            (("--training", "--convention", "fvcore"), "reports no backward pass")])
def test_training_options_are_checked_before_any_file(tmp_path, args, fragment):
    out = tmp_path / "net.html"
    result = run("report", NAIVE, "-o", str(out), *args)
    assert result.exit_code == 2 and not out.exists() and fragment in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_sweep_draws_the_totals_by_size(tmp_path):
    text, page = report(tmp_path, RESNET50, "--input", "64:256:64")
    sweep = json.loads(run("cost", RESNET50, "--input", "64:256:64", "--json").stdout)
    assert json.loads(page.island)["sweep"] == sweep
    assert 'id="sweep-panel"' in text
    for row in sweep["sweep"]:
        size = "x".join(map(str, row["input"][-2:]))
        assert f"<title>{size}: {row['macs']:,} MACs</title>" in text
    _, plain = report(tmp_path, RESNET50)
    assert json.loads(plain.island)["sweep"] is None


def test_receptive_field_growth_is_drawn_from_the_rf_report(tmp_path):
    text, _ = report(tmp_path, "specs/hw5.yaml")
    rf = json.loads(run("rf", "specs/hw5.yaml", "--json").stdout)
    # hw5 is a chain: depth k is layer k; every layer's size and jump is one point
    for depth, row in enumerate(rf["layers"], start=1):
        height = row["rf"]["height"]
        assert f"<title>depth {depth}: {row['name']}, size {height['size']:,}</title>" in text
        assert f"<title>depth {depth}: {row['name']}, jump {height['jump']:,}</title>" in text


def test_the_page_is_self_contained(tmp_path):
    text, page = report(tmp_path, RESNET50, "--input", "64:128:64")
    assert page.references == []  # no src, href, ...: every style, script and picture is inline
    assert not re.search(r"https?:|//[\w.-]+\.\w", text.replace("</", "")), "a URL in the page"
    assert not re.search(r"url\((?!#)", text) and "@import" not in text
    assert text.count("<script") == 2 and text.count("<style") == 1  # the data island, the script; the styles


HOSTILE = r'''input: [3, 8, 8]
blocks:
  blk:
    layers:
      - {name: "<!--<script><b>x", type: conv, out: 4, kernel: 3, padding: 1}
layers:
  - {name: "<script>alert(1)<\\script>", type: conv, out: 4, kernel: 1}
  - {name: "<img src=x onerror=alert(1)>", type: blk}
  - {name: "&amp;<!--", type: relu}
'''


def test_names_are_text_never_markup(tmp_path):
    text, page = report(tmp_path, "-", input=HOSTILE)
    assert "<script>alert" not in text and "<img" not in text and "<b>x" not in text and "<!--" not in text
    assert page.references == []
    island = json.loads(page.island)  # `<!--<script>` in a name did not change how the island ends
    names = [row["name"] for row in island["cost"]["layers"]]
    assert names == ["<script>alert(1)<\\script>", "<img src=x onerror=alert(1)>/<!--<script><b>x", "&amp;<!--"]
    assert "&lt;img src=x onerror=alert(1)&gt;/&lt;!--&lt;script&gt;&lt;b&gt;x" in text  # shown as written


def test_without_jinja2_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # `import jinja2` raises ImportError
    out = tmp_path / "net.html"
    result = run("report", NAIVE, "-o", str(out))
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert result.stderr.strip().endswith("error: cnncalc report needs jinja2, which is not installed; "
                                          "hint: pip install 'cnncalc[report]'")


def test_bad_input_is_one_message_and_no_file(tmp_path):
    out = tmp_path / "net.html"
    result = run("report", NAIVE, "-o", str(out), "--convention", "fvcor")
    assert result.exit_code == 2 and not out.exists() and len(result.stderr.splitlines()) == 1
    result = run("report", "-", "-o", str(out), input="input: [3, 8, 8]\nlayers: [{type: conv}]\n")
    assert result.exit_code == 2 and not out.exists() and result.stderr.startswith("<stdin>:2:")


def test_two_hundred_layers_make_a_page_of_reasonable_size(tmp_path):
    text, page = report(tmp_path, DENSENET)
    doc = cost_json(DENSENET)
    assert len(doc["layers"]) > 400 and len(page.nodes["layers"]) == len(doc["layers"]) + 1
    assert len(text.encode()) < 2_500_000  # about 5 kB a layer: the table row, the node, the island's row


_IMPORTS = """
import io, sys, contextlib
sys.argv = ["cnncalc"] + {args!r}
from cnncalc.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
print(sorted(name for name in sys.modules if name.startswith(("jinja2", "markupsafe", "cnncalc.report.html",
                                                               "cnncalc.report.graph", "cnncalc.report.layout"))))
"""


@pytest.mark.parametrize("args", [["cost", RESNET50, "--json"], ["rf", RESNET50, "--json"], ["--help"]],
                         ids=["cost-json", "rf-json", "help"])
def test_other_commands_never_load_the_report_code(args):
    result = subprocess.run([sys.executable, "-c", _IMPORTS.format(args=args)], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
