"""cnncalc: exact receptive fields, parameters and operation counts of CNNs written as YAML layer specs.

    graph = cnncalc.load(text, "net.yaml")
    cnncalc.cost_report(graph)     # the `cnncalc cost --json` document
    cnncalc.rf_report(graph, at=(0, 0))
"""

from .errors import Position, SpecError
from .graph import Graph, Node, load
from .report import cost_report, rf_report
from .source import Limits

__version__ = "0.1.0"
__all__ = ["Graph", "Limits", "Node", "Position", "SpecError", "cost_report", "load", "rf_report", "__version__"]
