"""The layer graph as a picture: a model built from the cost report, and its Mermaid and Graphviz (dot) texts.

`layer_graph(graph, doc, cost)` makes one node per layer (and one for the network input) with its type, output
shape and the figure of the column `cost` of its row in the cost document `doc`; one edge per tensor read, labelled
with the tensor's shape where it differs from the shape the producing node read (so a chain of same-shape layers is
labelled once); and one cluster per block instance, nested as the instances are (`a/b` lies in `a`). `collapse=True`
makes every top-level block instance one node whose row is the sum of its layers' rows.

Names are arbitrary text; every writer escapes them for its format and passes them through `text.printable`, so a
name can neither break the document nor smuggle markup (`to_mermaid`, `to_dot`). `render_dot` runs Graphviz's `dot`
for svg and png; a missing `dot` is a SpecError that says how to install it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Callable

from ..errors import SpecError
from ..graph import Graph
from ..text import printable


@dataclass(frozen=True)
class GraphNode:
    """One node: a layer, the network input, or (collapsed) a whole block instance."""

    id: str
    """`n0` (the input), `n1`, ...: safe in every format, whatever the layer's name."""
    name: str
    type: str
    """The layer type; `block` for a collapsed block instance; `input` for the network input."""
    block: str
    """Path of the innermost block instance holding it ("" at top level)."""
    output: str
    """Output shape(s), `64x56x56` (several outputs joined by `, `)."""
    row: dict
    """The node's row of the cost document (for a collapsed block, its columns summed); {} for the input."""
    layers: int = 1
    """How many layers the node stands for (a collapsed block: all of its layers)."""


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str
    """The tensor's shape where it changes (differs from the shape its producer read), else ""."""


@dataclass(frozen=True)
class Cluster:
    """A block instance: its path, the ids of the nodes directly in it, and the instances nested in it."""

    path: str
    nodes: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LayerGraph:
    """A network as nodes, edges and clusters, with the cost column its nodes show."""

    name: str
    convention: str
    cost: str
    """The column of the cost report each node shows (`macs`, `params`, ...)."""
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: list[Cluster]
    """The top-level block instances (each holds its nested ones)."""


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def layer_graph(graph: Graph, doc: dict, cost: str = "macs", collapse: bool = False) -> LayerGraph:
    """The picture of `graph` whose nodes show column `cost` of the cost document `doc` (made from `graph`)."""
    if cost not in doc["columns"]:
        raise SpecError(f"--cost {cost!r} is not a column of the cost report",
                        hint="one of: " + ", ".join(doc["columns"]))
    rows = doc["layers"]
    nodes = [GraphNode("n0", graph.nodes[0].name, "input", "", _shape(graph.input), {})]
    for node, row in zip(graph.layers, rows):
        outputs = ", ".join(_shape(s) for s in node.outputs)
        nodes.append(GraphNode(f"n{node.index}", node.name, node.type, row.get("block", ""), outputs, row))
    # the shape each node read (its first input); an edge is labelled where its tensor differs from it
    read = [graph.input] + [n.input_shapes[0] if n.input_shapes else graph.input for n in graph.layers]
    edges = []
    for node in graph.layers:
        for i, k in node.inputs:
            tensor = graph.nodes[i].outputs[k]
            label = _shape(tensor) if i == 0 or tensor != read[i] else ""
            edges.append(GraphEdge(f"n{i}", f"n{node.index}", label))
    if collapse:
        nodes, edges = _collapsed(nodes, edges, doc["columns"])
    return LayerGraph(doc["spec"], doc["convention"], cost, nodes, edges, _clusters(nodes))


def _collapsed(nodes: list[GraphNode], edges: list[GraphEdge],
               columns: list[str]) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Every top-level block instance as one node (named after it, its row the column sums of its layers, its
    output the output of its last layer), and the edges between the nodes that remain, each once."""
    members: dict[str, list[GraphNode]] = {}
    for node in nodes:
        if node.block:
            members.setdefault(node.block.split("/", 1)[0], []).append(node)
    where: dict[str, str] = {}
    kept: list[GraphNode] = []
    for node in nodes:
        top = node.block.split("/", 1)[0]
        if not top:
            kept.append(node)
            where[node.id] = node.id
            continue
        group = members[top]
        where[node.id] = group[-1].id
        if node is group[-1]:
            row = {"name": top, "type": "block", "output": node.row.get("output"),
                   **{c: sum(m.row[c] for m in group) for c in columns}}
            kept.append(GraphNode(node.id, top, "block", "", node.output, row, len(group)))
    joined: dict[tuple[str, str], str] = {}
    for edge in edges:
        key = (where[edge.source], where[edge.target])
        if key[0] != key[1] and key not in joined:
            joined[key] = edge.label
    return kept, [GraphEdge(s, t, label) for (s, t), label in joined.items()]


def _clusters(nodes: list[GraphNode]) -> list[Cluster]:
    """The tree of block instances, in the order their first layer appears."""
    by_path: dict[str, Cluster] = {}
    top: list[Cluster] = []

    def cluster(path: str) -> Cluster:
        if path not in by_path:
            by_path[path] = Cluster(path)
            parent, _, _ = path.rpartition("/")
            (cluster(parent).children if parent else top).append(by_path[path])
        return by_path[path]

    for node in nodes:
        if node.block:
            cluster(node.block).nodes.append(node.id)
    return top


def _figure(node: GraphNode, cost: str) -> str:
    if node.type == "input":
        return ""
    return f"{cost} {node.row[cost]:,}"


# ------------------------------------------------------------------------------------------------- Mermaid

_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
                     "\\": "#92;", "|": "#124;", "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;"}


def mermaid_text(text: str) -> str:
    """`text` inside a quoted Mermaid label: printable, and every character Mermaid would read as syntax, markup or
    an entity written as its entity code (`#quot;`, `#lt;`, `#35;`)."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in printable(text))


def to_mermaid(lg: LayerGraph) -> str:
    """A Mermaid flowchart (top to bottom): nodes `name<br>type · shape<br>cost`, block instances as subgraphs."""
    labels = {n.id: "<br>".join(mermaid_text(part) for part in _label_parts(n, lg.cost)) for n in lg.nodes}
    lines = ["flowchart TB", *_nested(
        lg, lambda nid, indent: f'{indent}{nid}["{labels[nid]}"]',
        lambda cluster, k, indent: [f'{indent}subgraph c{k}["{mermaid_text(cluster.label)}"]'], "end")]
    for e in lg.edges:
        lines.append(f'  {e.source} -->|"{mermaid_text(e.label)}"| {e.target}' if e.label else
                     f"  {e.source} --> {e.target}")
    return "\n".join(lines) + "\n"


def _nested(lg: LayerGraph, node_line: Callable[[str, str], str],
            cluster_head: Callable[[Cluster, int, str], list[str]], cluster_end: str) -> list[str]:
    """The node lines of both text formats: the nodes outside any cluster, then each cluster (numbered from 0 in
    document order) with its head lines, its nodes and nested clusters indented, and `cluster_end`."""
    lines: list[str] = []
    counter = iter(range(1 << 62))

    def emit(cluster: Cluster, indent: str) -> None:
        lines.extend(cluster_head(cluster, next(counter), indent))
        for nid in cluster.nodes:
            lines.append(node_line(nid, indent + "  "))
        for child in cluster.children:
            emit(child, indent + "  ")
        lines.append(f"{indent}{cluster_end}")

    in_cluster = {nid for c in _walk(lg.clusters) for nid in c.nodes}
    lines += [node_line(node.id, "  ") for node in lg.nodes if node.id not in in_cluster]
    for cluster in lg.clusters:
        emit(cluster, "  ")
    return lines


def _walk(clusters: list[Cluster]):
    for c in clusters:
        yield c
        yield from _walk(c.children)


def _label_parts(node: GraphNode, cost: str) -> list[str]:
    kind = f"{node.layers} layers" if node.type == "block" else node.type
    parts = [node.name, f"{kind} · {node.output}"]
    figure = _figure(node, cost)
    return parts + [figure] if figure else parts


# ------------------------------------------------------------------------------------------------- Graphviz

def dot_html(text: str) -> str:
    """`text` inside a Graphviz HTML-like label: printable, with `& < > "` as entities (nothing else is special
    there: a backslash or a `]` is literal)."""
    return (printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def to_dot(lg: LayerGraph) -> str:
    """A Graphviz digraph (top to bottom): HTML-like node labels (the name in bold), block instances as clusters."""
    lines = ["digraph cnncalc {", "  rankdir=TB;", '  graph [fontname="Helvetica", fontsize=11];',
             '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fa", color="#8a94a6", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [color="#8a94a6", fontname="Helvetica", fontsize=9];']
    by_id = {n.id: n for n in lg.nodes}

    def node_line(nid: str, indent: str) -> str:
        name, *rest = _label_parts(by_id[nid], lg.cost)
        body = f"<B>{dot_html(name)}</B>" + "".join(f'<BR/><FONT POINT-SIZE="9">{dot_html(p)}</FONT>' for p in rest)
        return f"{indent}{nid} [label=<{body}>];"

    def cluster_head(cluster: Cluster, k: int, indent: str) -> list[str]:
        return [f"{indent}subgraph cluster_{k} {{",
                f'{indent}  label=<{dot_html(cluster.label)}>; style="rounded,dashed"; color="#9aa5b8";']

    lines += _nested(lg, node_line, cluster_head, "}")
    for e in lg.edges:
        lines.append(f"  {e.source} -> {e.target} [label=<{dot_html(e.label)}>];" if e.label else
                     f"  {e.source} -> {e.target};")
    lines.append("}")
    return "\n".join(lines) + "\n"


DOT_MISSING_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS); "
                    "or write --format dot and render it elsewhere")


def render_dot(dot: str, fmt: str) -> bytes:
    """`dot -T<fmt>` of the text `dot` (svg or png). SpecError when Graphviz's `dot` is not installed or fails."""
    program = shutil.which("dot")
    if program is None:
        raise SpecError(f"--format {fmt} needs Graphviz's `dot` program, which is not on PATH", hint=DOT_MISSING_HINT)
    result = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, timeout=600)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SpecError(f"dot failed ({message[0] if message else f'exit code {result.returncode}'})")
    return result.stdout
