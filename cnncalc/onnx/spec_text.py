"""The YAML text of a spec read from ONNX (`spec_text`): keys in a fixed order, flow lists, scalars plain where
YAML 1.1 and 1.2 read them back as the same string, else double-quoted in printable ASCII.
"""

from __future__ import annotations

import json
import re
from typing import Any

_KEY_ORDER = ("name", "type", "input", "inputs")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def spec_text(doc: dict, header: str = "") -> str:
    """`doc` (name, description, input, layers) as YAML text: one line per layer, a flow mapping with its keys in
    a fixed order (name, type, input, the layer's attributes, repeat); the input read from the entry before is
    left out (it is the default)."""
    lines = [header] if header else []
    lines.append(f"name: {_scalar_text(doc['name'])}")
    if "description" in doc:
        lines.append(f"description: {_scalar_text(doc['description'])}")
    lines.append(f"input: {_value_text(doc['input'])}")
    if doc.get("blocks"):
        lines.append("blocks:")
        for name, block in doc["blocks"].items():
            lines += [f"  {_scalar_text(name)}:", "    layers:", *_entry_lines(block["layers"], "      ")]
    lines.append("layers:")
    lines += _entry_lines(doc["layers"], "  ")
    return "\n".join(lines) + "\n"


def _entry_lines(entries: list[dict], indent: str) -> list[str]:
    lines, previous = [], "input"
    for entry in entries:
        shown = {k: v for k, v in entry.items() if not (k == "input" and v == previous)}
        keys = [k for k in _KEY_ORDER if k in shown] + [k for k in shown if k not in _KEY_ORDER]
        lines.append(indent + "- {" + ", ".join(f"{k}: {_value_text(shown[k])}" for k in keys) + "}")
        previous = entry["name"]
    return lines


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if re.fullmatch(r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?", text) else json.dumps(text)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return _scalar_text(str(value))


def _scalar_text(text: str) -> str:
    """A string as a YAML scalar: plain where YAML (1.1 and 1.2) reads it back as this string, else quoted."""
    from ..source import YAML11_BOOLEANS, resolve_scalar
    if _PLAIN.match(text) and resolve_scalar(text) == text and text not in YAML11_BOOLEANS \
            and text.lower() not in ("null", "true", "false") or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*\.[0-9]+",
                                                                               text):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar in printable ASCII: `"` and `\\` escaped, every other character
    outside space .. `~` as `\\uXXXX`, or `\\UXXXXXXXX` above the BMP (JSON's surrogate pairs are no YAML)."""
    return '"' + "".join(c if " " <= c <= "~" and c not in '"\\' else "\\" + c if c in '"\\' else
                         f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in text) + '"'
