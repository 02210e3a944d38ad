"""`cnncalc graph`: the layer graph as Mermaid and dot text, and as svg/png through Graphviz.

Expected structure comes from the `cost --json` document (its rows, their `inputs` and `block`), not from the graph
writer: one node per layer plus the input, one edge per input read, one cluster per block instance; Graphviz itself
parses the dot text (`dot -Tsvg`) and its drawing is counted.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.text import printable
from needs import require

ROOT = Path(__file__).resolve().parents[2]
HW5 = str(ROOT / "specs" / "hw5.yaml")
NAIVE = str(ROOT / "specs" / "inception_naive.yaml")
RESNET50 = str(ROOT / "specs" / "zoo" / "resnet50.yaml")
GOOGLENET = str(ROOT / "specs" / "zoo" / "googlenet.yaml")
SVG = "{http://www.w3.org/2000/svg}"

HOSTILE = r'''input: [3, 8, 8]
blocks:
  blk:
    layers:
      - {name: "a\"b\\c<d>&e", type: conv, out: 4, kernel: 3, padding: 1}
      - {name: "x\ny]#quot;`|{}", type: relu}
layers:
  - {name: "<script>alert(1)<\\script>", type: conv, out: 4, kernel: 1}
  - {name: "in\"st<b>", type: blk}
  - {name: "-->|x| n0 --> end", type: maxpool, kernel: 2}
'''
HOSTILE_NAMES = ['<script>alert(1)<\\script>', 'in"st<b>/a"b\\c<d>&e', 'in"st<b>/x\ny]#quot;`|{}', "-->|x| n0 --> end"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def cost(spec: str) -> dict:
    result = run("cost", spec, "--json")
    assert result.exit_code == 0
    return json.loads(result.stdout)


def mermaid(*args: str, input: str | None = None) -> tuple[dict[str, str], list[tuple[str, str, str]], list[str]]:
    """Node id -> label, (source, target, label) edges, subgraph labels of a `cnncalc graph` Mermaid text."""
    result = run("graph", *args, input=input)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TB"
    nodes = dict(re.findall(r'^\s*(n\d+)\["([^"]*)"\]$', result.stdout, re.M))
    edges = [(a, b, label) for a, label, b in re.findall(r'^\s*(n\d+) -->(?:\|"([^"]*)"\|)? (n\d+)$', result.stdout,
                                                         re.M)]
    subgraphs = re.findall(r'^\s*subgraph c\d+\["([^"]*)"\]$', result.stdout, re.M)
    assert len(subgraphs) == sum(1 for line in lines if line.strip() == "end")
    # every line is a node, an edge, a subgraph or its end: nothing else slipped in
    assert len(lines) == 1 + len(nodes) + len(edges) + 2 * len(subgraphs)
    return nodes, edges, subgraphs


@pytest.mark.parametrize("spec", [HW5, NAIVE, RESNET50, GOOGLENET], ids=["hw5", "naive", "resnet50", "googlenet"])
def test_mermaid_has_one_node_per_layer_one_edge_per_input_and_one_cluster_per_block(spec):
    doc = cost(spec)
    nodes, edges, subgraphs = mermaid(spec)
    assert len(nodes) == len(doc["layers"]) + 1  # and the network input
    assert len(edges) == sum(len(row["inputs"]) for row in doc["layers"])
    blocks = {row["block"] for row in doc["layers"] if "block" in row}
    assert sorted(subgraphs) == sorted(blocks)
    # each layer's node shows its name, type, output shape and MACs as the cost report has them
    labels = sorted(nodes.values())
    for row in doc["layers"]:
        shape = "x".join(map(str, row["output"]))
        assert f"{row['name']}<br>{row['type']} · {shape}<br>macs {row['macs']:,}" in labels


def test_edges_are_labelled_where_the_shape_changes():
    # hw5: conv1 3x32x32 -> 64x32x32, y1 keeps it, y2 (pool) halves it, conv3 and conv4 keep it, y3 halves it
    nodes, edges, _ = mermaid(HW5)
    name = {nid: label.split("<br>")[0] for nid, label in nodes.items()}
    assert [(name[a], name[b], label) for a, b, label in edges] == [
        ("input", "conv1", "3x32x32"), ("conv1", "y1", "64x32x32"), ("y1", "y2", ""), ("y2", "conv3", "64x16x16"),
        ("conv3", "conv4", ""), ("conv4", "y3", "")]


def test_cost_column_and_convention_choose_the_figure():
    doc = json.loads(run("cost", RESNET50, "--json", "--convention", "fvcore").stdout)
    nodes, _, _ = mermaid(RESNET50, "--cost", "params", "--convention", "fvcore")
    first = doc["layers"][0]
    assert nodes["n1"].endswith(f"<br>params {first['params']:,}")
    result = run("graph", RESNET50, "--cost", "flops")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: --cost 'flops' is not a column" in result.stderr and "macs" in result.stderr


def test_collapse_makes_each_block_instance_one_node_with_its_rows_summed():
    doc = cost(RESNET50)
    nodes, edges, subgraphs = mermaid(RESNET50, "--collapse")
    blocks: dict[str, list[dict]] = {}
    for row in doc["layers"]:
        if "block" in row:
            blocks.setdefault(row["block"], []).append(row)
    loose = [row for row in doc["layers"] if "block" not in row]
    assert subgraphs == [] and len(nodes) == 1 + len(loose) + len(blocks) == 1 + 7 + 16
    labels = {label.split("<br>")[0]: label for label in nodes.values()}
    for block, rows in blocks.items():
        shape = "x".join(map(str, rows[-1]["output"]))
        assert labels[block] == f"{block}<br>{len(rows)} layers · {shape}<br>macs {sum(r['macs'] for r in rows):,}"
    # a chain of blocks: every node but the input is read once, by the next
    assert len(edges) == len(nodes) - 1


def test_hostile_names_stay_inside_their_mermaid_labels():
    nodes, edges, subgraphs = mermaid("-", input=HOSTILE)
    assert len(nodes) == 5 and len(edges) == 4 and len(subgraphs) == 1
    text = "".join(nodes.values()).replace("<br>", "") + "".join(subgraphs)  # `<br>`: the writer's line breaks
    for ch in '"<>`|[]{}\\\n':
        assert ch not in text  # each is an entity code (`#quot;`, `#lt;`, `#92;`, ...)
    decoded = [_mermaid_decode(label.split("<br>")[0]) for label in nodes.values()]
    assert sorted(decoded[1:]) == sorted(printable(name) for name in HOSTILE_NAMES)
    assert _mermaid_decode(subgraphs[0]) == 'in"st<b>'


def _mermaid_decode(text: str) -> str:
    named = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}
    return re.sub(r"#(\w+);", lambda m: named.get(m[1]) or chr(int(m[1])), text)


def _dot_svg(dot_text: str) -> ET.Element:
    program = require("dot")
    result = subprocess.run([program, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=120)
    assert result.returncode == 0 and not result.stderr, result.stderr  # no syntax error, no warning
    return ET.fromstring(result.stdout)


@pytest.mark.parametrize("spec", [NAIVE, RESNET50], ids=["naive", "resnet50"])
def test_dot_text_is_read_by_graphviz_with_one_node_per_layer_and_one_cluster_per_block(spec):
    doc = cost(spec)
    result = run("graph", spec, "--format", "dot")
    assert result.exit_code == 0
    svg = _dot_svg(result.stdout)
    groups = svg.iter(f"{SVG}g")
    kinds = [g.get("class") for g in groups]
    assert kinds.count("node") == len(doc["layers"]) + 1
    assert kinds.count("edge") == sum(len(row["inputs"]) for row in doc["layers"])
    assert kinds.count("cluster") == len({row["block"] for row in doc["layers"] if "block" in row})


def test_hostile_names_survive_graphviz_intact():
    result = CliRunner().invoke(app, ["graph", "-", "--format", "dot"], input=HOSTILE, catch_exceptions=False)
    assert result.exit_code == 0
    svg = _dot_svg(result.stdout)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    for name in HOSTILE_NAMES:
        assert printable(name) in texts
    assert 'in"st<b>' in texts  # the cluster's label
    assert sum(1 for g in svg.iter(f"{SVG}g") if g.get("class") == "node") == 5


def test_svg_and_png_are_drawn_by_graphviz(tmp_path):
    require("dot")
    doc = cost(NAIVE)
    svg_file, png_file = tmp_path / "naive.svg", tmp_path / "naive.png"
    assert run("graph", NAIVE, "--format", "svg", "-o", str(svg_file)).exit_code == 0
    tree = ET.parse(svg_file).getroot()
    assert sum(1 for g in tree.iter(f"{SVG}g") if g.get("class") == "node") == len(doc["layers"]) + 1
    assert run("graph", NAIVE, "--format", "png", "-o", str(png_file), "--collapse").exit_code == 0
    assert png_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stdout = run("graph", NAIVE, "--format", "svg")
    assert stdout.exit_code == 0 and stdout.stdout.lstrip().startswith("<?xml")


def test_png_needs_a_file():
    result = run("graph", NAIVE, "--format", "png")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: --format png is a binary image; hint: name the file with -o NET.png" in result.stderr


def test_without_graphviz_the_message_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    out = tmp_path / "net.svg"
    result = run("graph", NAIVE, "--format", "svg", "-o", str(out))
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "needs Graphviz's `dot` program" in lines[0]
    assert "apt-get install graphviz" in lines[0] and "brew install graphviz" in lines[0]
    assert run("graph", NAIVE, "--format", "dot").exit_code == 0  # text formats need no Graphviz
