"""The expression language (cnncalc/expr.py): every operator and function against Python's own arithmetic or a
written formula, and hostile expressions refused with an ExprError that says where."""

from __future__ import annotations

import math

import pytest

from cnncalc.expr import MAX_DEPTH, MAX_LENGTH, ExprError, parse

NAMES = {"w": 24, "c": 96, "r": 0.25, "act": "relu", "flag": True, "none": None}


def value(text: str, names: dict | None = None):
    return parse(text).evaluate(NAMES if names is None else names)


# Every operator, compared with what Python computes for the same literals (Python is the reference semantics).
@pytest.mark.parametrize("text", [
    "7 + 3", "7 - 10", "7 * 3", "7 / 2", "7 // 2", "-7 // 2", "7 % 3", "-7 % 3", "2 ** 10", "2 ** -2", "7.5 // 2",
    "7.5 % 2", "(1 + 2) * 3", "1 + 2 * 3", "-(3)", "+3", "2 ** 3 ** 2", "10 / 4 * 2", "1.5 + 2",
    "3 == 3", "3 != 3", "2 < 3", "3 <= 3", "4 > 3", "3 >= 4", "1 < 2 < 3", "1 < 3 < 2", "'a' == 'a'", "'a' < 'b'",
    "2.0 == 2", "True and False", "True or False", "not True", "not False", "1 if True else 2", "1 if False else 2",
    "'ab' + 'cd'", "True == False", "None == None",
])
def test_operators_follow_python(text):
    assert value(text) == eval(text)  # noqa: S307  (the test's independent reference, on literal text only)


@pytest.mark.parametrize("text, expected", [
    ("min(3, 1, 2)", 1), ("max(3, 1.5)", 3), ("abs(-4)", 4), ("abs(-2.5)", 2.5), ("int(3.9)", 3), ("int(-3.9)", -3),
    ("round(2.5)", 2), ("round(3.5)", 4), ("round(2.675, 2)", round(2.675, 2)), ("ceil(2.1)", 3), ("floor(-2.1)", -3),
    ("ceil(4)", 4), ("w // 8", 3), ("w / 2", 12.0), ("c * r", 24.0), ("act", "relu"),
    ("'silu' if act == 'relu' else 'gelu'", "silu"), ("flag and w > 8", True), ("none == None", True),
])
def test_functions_and_names(text, expected):
    result = value(text)
    assert result == expected and type(result) is type(expected)


def make_divisible(v, divisor, min_value=None):
    """torchvision.models._utils._make_divisible, transcribed."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("v, d, min_value", [(18, 8, None), (30, 8, None), (24.0, 8, None), (3, 8, None),
                                             (100, 8, 64), (16 * 0.75, 8, None), (61, 4, None), (0.5, 1, None)])
def test_divisible_is_torchvisions_make_divisible(v, d, min_value):
    call = f"divisible({v}, {d})" if min_value is None else f"divisible({v}, {d}, min_value={min_value})"
    assert value(call) == make_divisible(v, d, min_value)
    if min_value is not None:
        assert value(f"divisible({v}, {d}, {min_value})") == make_divisible(v, d, min_value)


def test_divisible_gives_mobilenet_v3_squeeze_widths():
    # torchvision's MobileNetV3-Large SE layers: squeeze = _make_divisible(expanded // 4, 8): 72 -> 24, 120 -> 32,
    # 480 -> 120, 672 -> 168, 960 -> 240 (the published model's fc1 output channels).
    assert [value(f"divisible({e} // 4, 8)") for e in (72, 120, 480, 672, 960)] == [24, 32, 120, 168, 240]


def test_short_circuit_skips_the_branch_not_taken():
    assert value("w == 0 or c / (w - 24) > 1", {"w": 0, "c": 1}) is True
    assert value("False and 1 / 0 > 1") is False
    assert value("1 if True else 1 / 0") == 1


# --------------------------------------------------------------------------------------------------- refusals

def refused(text: str, fragment: str, names: dict | None = None) -> ExprError:
    with pytest.raises(ExprError) as info:
        value(text, names)
    assert fragment in info.value.message + (info.value.hint or ""), info.value.message
    return info.value


@pytest.mark.parametrize("text, fragment", [
    ("().__class__", "attribute access"),
    ("w.real", "attribute access"),
    ("(1).__class__.__bases__[0].__subclasses__()", "may be called"),
    ("__import__('os').system('true')", "may be called"),
    ("__import__('os')", "unknown function '__import__'"),
    ("print(1)", "unknown function 'print'"),
    ("eval('1')", "unknown function 'eval'"),
    ("[1, 2][0]", "indexing"),
    ("'abc'[0]", "indexing"),
    ("lambda: 1", "lambda"),
    ("[x for x in (1, 2)]", "comprehension"),
    ("{1: 2}", "a dict"),
    ("(1, 2)", "a tuple"),
    ("f'{w}'", "f-string"),
    ("(y := 3)", "`:=`"),
    ("~1", "`~`"),
    ("1 << 2", "operator not part of the language"),
    ("1 in (1, 2)", "only the comparisons"),
    ("w is w", "only the comparisons"),
    ("b'x'", "bytes literals"),
    ("1j", "complex literals"),
    ("max(*(1, 2))", "`*` arguments"),
    ("min(1, 2, key=abs)", "takes no keyword arguments"),
    ("divisible(8, d=8)", "divisible() takes (v, d, min_value=None)"),
    ("x + 1", "unknown parameter 'x'"),
    ("true", "write True"),
    ("acts", "did you mean 'act'?"),
    ("max", "max is a function"),
    ("2 +", "invalid expression"),
    ("", "empty expression"),
])
def test_outside_the_language(text, fragment):
    refused(text, fragment)


@pytest.mark.parametrize("text, fragment", [
    ("10 ** 10 ** 10", "exponent 10000000000 is too large"),
    ("2 ** 2000", "exponent 2000 is too large"),
    ("9 ** 1000", "integer beyond 2**256"),
    ("2 ** 200 * 2 ** 200", "integer beyond 2**256"),
    ("10.0 ** 400", "overflows"),
    ("1e308 * 10", "not finite"),
    ("(-8) ** 0.5", "complex"),
    ("0 ** -1", "division by zero"),
    ("1 / 0", "division by zero"),
    ("1 // 0", "division by zero"),
    ("1 % 0.0", "division by zero"),
    ("'ab' * 3", "`*` needs a number, got a string"),
    ("'a' + 1", "`+` needs a number, got a string"),
    ("True + 1", "got a boolean"),
    ("not 1", "`not` needs true or false"),
    ("1 and True", "`and` needs true or false"),
    ("1 if w else 2", "`if` needs true or false"),
    ("'3' < 4", "cannot compare a string"),
    ("True == 1", "cannot compare a boolean"),
    ("min(1)", "min() takes two or more numbers"),
    ("abs()", "abs() takes one number"),
    ("abs('x')", "abs() needs a number"),
    ("round(1.5, 99)", "ndigits is an integer from -20 to 20"),
    ("divisible(10, 0)", "d must be an integer >= 1"),
    ("divisible(10, 2.5)", "d must be an integer >= 1"),
    ("int(1e300)", "integer beyond 2**256"),
    ("k + 1", "holds a list or mapping"),
])
def test_bounded_and_typed(text, fragment):
    refused(text, fragment, {**NAMES, "k": [3, 5]})


def test_long_strings_are_bounded():
    refused("s + s", "string longer than", {"s": "x" * 600})
    refused("s", "string longer than", {"s": "x" * 5000})


def test_length_and_depth_are_bounded():
    error = refused("1" + " + 1" * (MAX_LENGTH // 4 + 1), "characters long")
    assert error.offset == MAX_LENGTH
    refused("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested deeper")
    refused("-" * (MAX_DEPTH + 5) + "1", "nested deeper")
    refused("not " * (MAX_DEPTH + 5) + "True", "nested deeper")
    refused("1" + " + 1" * (MAX_DEPTH + 5), "nested deeper")  # a left-leaning chain of additions
    assert value("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1


def test_errors_say_where():
    assert refused("w + unknown", "unknown parameter").offset == 4
    assert refused("  w + unknown", "unknown parameter").offset == 6
    assert refused("w * (1 / 0)", "division by zero").offset == 5
    assert refused("abs(w).real", "attribute").offset == 0


def test_whole_numbers_stay_exact():
    assert value("2 ** 100 + 1") == 2 ** 100 + 1
    assert value("floor(1e15 + 0.5)") == math.floor(1e15 + 0.5)
