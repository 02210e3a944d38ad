"""The optional extras (`pip install 'cnncalc[onnx]'`, `'cnncalc[report]'`): their packages are imported only by
the commands that need them, and a missing one is a SpecError that says what to install."""

from __future__ import annotations

import importlib
from typing import Any

from .errors import SpecError


def require(module: str, extra: str, needed_by: str) -> Any:
    """The module `module` of the extra `extra`; SpecError "`needed_by` needs `module`, which is not
    installed" with the pip command as its hint when it cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SpecError(f"{needed_by} needs {module}, which is not installed",
                        hint=f"pip install 'cnncalc[{extra}]'") from None
