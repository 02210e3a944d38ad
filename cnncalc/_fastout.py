"""Faster output of JSON documents: the same text as `json.dumps(doc, indent=2)`, in less time.

`dumps(doc)` is `json.dumps(doc, indent=2)` character for character. With `indent`, the json module cannot use its C
encoder and walks the document with nested Python generators, one chunk per value; for a 100,000-layer network that
took longer than the analysis. Here each container is one `str.join`, the leaves go through the same C escaping and
number formatting, and anything unusual (a non-string key, a value of another type) falls back to `json.dumps`.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _quote
from typing import Any


class _Unusual(Exception):
    """A value `dumps` leaves to the json module."""


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _leaf(value: Any) -> str | None:
    """The JSON text of a str, int, bool, None or float; None for a container."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float:
        return _float(value)
    return None


def _encode(value: Any, indent: str) -> str:
    text = _leaf(value)
    if text is not None:
        return text
    kind = type(value)
    inner = indent + "  "
    if kind is dict:
        if not value:
            return "{}"
        parts: list[str] = []
        append = parts.append
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            kind = type(item)  # the common leaves inline: one call less per value
            if kind is str:
                append(_quote(key) + ": " + _quote(item))
            elif kind is int:
                append(_quote(key) + ": " + int.__repr__(item))
            else:
                append(_quote(key) + ": " + _encode(item, inner))
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        if all(type(item) is int for item in value):
            parts = list(map(int.__repr__, value))
        else:
            parts = [_encode(item, inner) for item in value]
        return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]"
    raise _Unusual


def dumps(doc: Any) -> str:
    """`json.dumps(doc, indent=2)`, faster for the plain documents cnncalc writes."""
    try:
        return _encode(doc, "")
    except (_Unusual, RecursionError):
        return json.dumps(doc, indent=2)
