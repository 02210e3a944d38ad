"""cnncalc: exact receptive fields, parameters and operation counts of CNNs written as YAML layer specs.

The Python API (cnncalc/api.py), the one the command line is built on:

    net = cnncalc.read("net.yaml")             # or cnncalc.parse(text, "net.yaml"), cnncalc.from_dict({...})
    net.cost().to_json()                       # the `cnncalc cost --json` document
    net.rf(at=(0, 0)).at                       # the bounds of output index (0, 0) of the last layer
    net.cost_sweep("224,320").rows()           # one flat dict per input size
    cnncalc.compare([net, other])

Lower level: `cnncalc.load(text, "net.yaml")` gives the layer graph, `cnncalc.cost_report(graph)` and
`cnncalc.rf_report(graph, at=(0, 0))` its documents. Every error is a SpecError (`str(err)` is the message,
`err.format()` the command line's `FILE:LINE:COL: error: ...` text).
"""

from .errors import Position, SpecError
from .graph import Graph, Node, load
from .report import cost_report, rf_report
from .source import Limits

__version__ = "0.2.0"
__all__ = ["CompareReport", "CostReport", "GradReport", "Graph", "GroupReport", "Limits", "MemoryReport", "Network", "Node", "Position",
           "Report", "RfReport", "ShapesReport", "SpecError", "SweepReport", "compare", "cost_report", "from_dict",
           "import_onnx", "limits", "load", "parse", "read", "rf_report", "__version__"]

_API = frozenset({"CompareReport", "CostReport", "GradReport", "GroupReport", "MemoryReport", "Network", "Report", "RfReport",
                  "ShapesReport", "SweepReport", "compare", "from_dict", "import_onnx", "limits", "parse", "read"})
"""Names of cnncalc/api.py, imported on first use: `cnncalc --help` and `--version` never need them."""


def __getattr__(name: str):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
