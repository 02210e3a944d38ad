"""Expressions of the spec language: the EXPR of a value `$(EXPR)`, parsed and evaluated safely.

    expression = parse("max(8, divisible(c * 0.25, 8))")   # ExprError on anything outside the language
    expression.evaluate({"c": 96})                         # 24

The language is a small subset of Python's expression syntax, read with `ast.parse(..., mode="eval")` and
evaluated by walking a whitelist of node types (nothing is ever compiled or passed to `eval`):

- literals: integers, floats, quoted strings, `True`, `False`, `None`; names: the parameters in scope, nothing else;
- arithmetic `+ - * / // % **` (`+` also joins strings), unary `-` and `+`; comparisons `== != < <= > >=`, chained
  as in Python; `and`, `or`, `not` and `A if COND else B` on booleans (short-circuit: the branch not taken is not
  evaluated);
- functions `min`, `max` (two or more numbers), `abs`, `int` (truncates toward zero, as Python), `round` (Python's:
  half to even; `round(x)` is an int, `round(x, n)` a float), `ceil`, `floor` (ints) and `divisible(v, d,
  min_value=None)`, torchvision's `_make_divisible`: max(min_value or d, int(v + d/2) // d * d), plus d when
  that is below 0.9 * v.

Booleans are not numbers here (`True + 1` is an error), strings are not numbers (`'3' + 1` is an error), and
everything is bounded: the text (`MAX_LENGTH` characters), its nesting (`MAX_DEPTH`), integers (`MAX_INT_BITS`
bits), exponents, strings (`MAX_STRING`); floats must stay finite. Every refusal is an `ExprError` with the
offset (0-based, in characters) of the part of the text that caused it.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Mapping, cast

MAX_LENGTH = 1000
"""Longest expression text, in characters."""
MAX_DEPTH = 40
"""Deepest nesting of operations and calls."""
MAX_INT_BITS = 256
"""Largest integer magnitude anywhere in an evaluation: below 2**256 (sizes are below 2**63)."""
MAX_STRING = 1000
"""Longest string an evaluation may build."""
MAX_EXPONENT = 1024
"""Largest absolute exponent of `**`."""

Number = int | float


class ExprError(ValueError):
    """An expression outside the language, or one whose evaluation fails; `offset` is where, in the text."""

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


_COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
            ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.Pow: "**"}
FUNCTIONS = ("min", "max", "abs", "int", "round", "ceil", "floor", "divisible")
"""Every function an expression may call."""


def divisible(v: Number, d: int, min_value: Number | None = None) -> Number:
    """torchvision's `_make_divisible(v, d, min_value)`: the multiple of d nearest to v (halves up), at least
    `min_value` (default d), and not more than 10% below v. An int unless `min_value` is a float that wins."""
    if min_value is None:
        min_value = d
    new_v = max(min_value, int(v + d / 2) // d * d)
    if new_v < 0.9 * v:
        new_v += d
    return new_v


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression; `evaluate` computes it over the parameters in scope."""

    text: str
    tree: ast.expr
    shift: int = 0
    """Characters of white space before the text the tree's offsets count from."""

    def evaluate(self, names: Mapping[str, object]) -> object:
        """The value: an int, float, str, bool or None. Raises ExprError."""
        return _Evaluator(names, self.shift).eval(self.tree)


def parse(text: str) -> Expression:
    """Parse and check the text of an expression (without the surrounding `$(` and `)`). Raises ExprError."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text):,} characters long; the most is {MAX_LENGTH:,}", MAX_LENGTH,
                        hint="compute part of it in a parameter")
    if not text.strip():
        raise ExprError("empty expression", 0, hint="write a value between the parentheses: $(w // 2)")
    # The nesting is bounded before the parser sees it (CPython's parser recurses on brackets and unary operators).
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels", 0)
    shift = len(text) - len(text.lstrip())
    source = text.strip().replace("\r", " ").replace("\n", " ").replace("\t", " ")  # offsets stay the same
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        offset = max((exc.offset or 1) - 1, 0) + shift
        raise ExprError(f"invalid expression: {exc.msg}", min(offset, len(text))) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression too deeply nested or invalid", 0) from None
    _check(tree, 0, shift)
    return Expression(text, tree, shift)


def _offset(node: ast.AST, shift: int) -> int:
    return getattr(node, "col_offset", 0) + shift


def _check(node: ast.AST, depth: int, shift: int) -> None:
    """Refuse every node type outside the language, and nesting beyond MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels", _offset(node, shift))
    where = _offset(node, shift)
    children: list[ast.expr]
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float, str, bool, type(None)):
            raise ExprError(f"{type(node.value).__name__} literals are not part of the language", where)
        if type(node.value) is int and node.value.bit_length() > MAX_INT_BITS:
            raise ExprError(f"integer literal beyond 2**{MAX_INT_BITS}", where)
        return
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExprError(f"operator not part of the language (use {' '.join(_BINARY.values())})", where)
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in (ast.USub, ast.UAdd, ast.Not):
            raise ExprError("`~` is not part of the language", where)
        children = [node.operand]
    elif isinstance(node, ast.BoolOp):
        children = node.values
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExprError("only the comparisons == != < <= > >= are part of the language", where)
        children = [node.left, *node.comparators]
    elif isinstance(node, ast.IfExp):
        children = [node.test, node.body, node.orelse]
    elif isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise ExprError("only the functions " + ", ".join(FUNCTIONS) + " may be called", where)
        if func.id not in FUNCTIONS:
            raise ExprError(f"unknown function {func.id!r}", where, hint="the functions: " + ", ".join(FUNCTIONS))
        for arg in node.args:
            if type(arg) is ast.Starred:
                raise ExprError("`*` arguments are not part of the language", _offset(arg, shift))
        for keyword in node.keywords:
            if keyword.arg != "min_value" or func.id != "divisible":
                raise ExprError(f"{func.id}() takes no keyword arguments" if func.id != "divisible" else
                                "divisible() takes (v, d, min_value=None)", _offset(keyword.value, shift))
        children = [*node.args, *(k.value for k in node.keywords)]
    else:
        raise ExprError(f"{_describe_node(node)} is not part of the language", where,
                        hint="an expression is arithmetic, comparisons, and/or/not, `A if C else B` and the "
                             "functions " + ", ".join(FUNCTIONS))
    for child in children:
        _check(child, depth + 1, shift)


def _describe_node(node: ast.AST) -> str:
    names = {ast.Attribute: "attribute access (`.`)", ast.Subscript: "indexing (`[]`)", ast.Lambda: "lambda",
             ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
             ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
             ast.GeneratorExp: "a generator", ast.JoinedStr: "an f-string", ast.NamedExpr: "`:=`",
             ast.Await: "await", ast.Yield: "yield", ast.Starred: "`*`", ast.Slice: "a slice"}
    return names.get(type(node), type(node).__name__)


def _kind(value: object) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "a boolean",
            type(None): "None"}.get(type(value), "a list or mapping")


class _Evaluator:
    def __init__(self, names: Mapping[str, object], shift: int) -> None:
        self.names = names
        self.shift = shift

    def fail(self, node: ast.AST, message: str, hint: str | None = None) -> ExprError:
        return ExprError(message, getattr(node, "col_offset", 0) + self.shift, hint)

    def eval(self, node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            value = self.eval(node.operand)
            if type(node.op) is ast.Not:
                return not self.boolean(node.operand, value, "`not`")
            number = self.number(node.operand, value, "unary " + ("-" if type(node.op) is ast.USub else "+"))
            return -number if type(node.op) is ast.USub else number
        if isinstance(node, ast.BoolOp):
            is_and = type(node.op) is ast.And
            for child in node.values:
                if self.boolean(child, self.eval(child), "`and`" if is_and else "`or`") != is_and:
                    return not is_and
            return is_and
        if isinstance(node, ast.Compare):
            left = self.eval(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self.eval(right_node)
                self.comparable(node, left, right)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.eval(node.body if self.boolean(node.test, self.eval(node.test), "`if`") else node.orelse)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{_describe_node(node)} is not part of the language")  # parse() refused it already

    def name(self, node: ast.Name) -> object:
        if node.id not in self.names:
            hint = None
            if node.id in ("true", "false", "null", "none"):
                hint = f"write {'True' if node.id == 'true' else 'False' if node.id == 'false' else 'None'}"
            elif node.id in FUNCTIONS:
                hint = f"{node.id} is a function: call it, {node.id}(...)"
            else:
                from difflib import get_close_matches
                close = get_close_matches(node.id, [str(n) for n in self.names], 1)
                hint = f"did you mean {close[0]!r}?" if close else (
                    "parameters in scope: " + ", ".join(map(str, self.names)) if self.names else
                    "no parameter is in scope here: declare one in `params:`")
            raise self.fail(node, f"unknown parameter {node.id!r}", hint)
        value = self.names[node.id]
        if type(value) not in (int, float, str, bool, type(None)):
            raise self.fail(node, f"parameter {node.id!r} holds a list or mapping; an expression computes with "
                                  "numbers, strings and booleans")
        return self.bounded(node, value)

    def bounded(self, node: ast.AST, value: object) -> object:
        kind = type(value)
        if isinstance(value, int) and kind is int and value.bit_length() > MAX_INT_BITS:
            raise self.fail(node, f"integer beyond 2**{MAX_INT_BITS}")
        if isinstance(value, float) and kind is float and not math.isfinite(value):
            raise self.fail(node, "number overflows (not finite)")
        if isinstance(value, str) and kind is str and len(value) > MAX_STRING:
            raise self.fail(node, f"string longer than {MAX_STRING:,} characters")
        if kind not in (int, float, str, bool, type(None)):
            raise self.fail(node, f"the result is {type(value).__name__}, not a number")  # a complex power
        return value

    def number(self, node: ast.AST, value: object, what: str) -> Number:
        if type(value) not in (int, float):
            raise self.fail(node, f"{what} needs a number, got {_kind(value)} ({_show(value)})")
        return value  # type: ignore[return-value]

    def boolean(self, node: ast.AST, value: object, what: str) -> bool:
        if type(value) is not bool:
            raise self.fail(node, f"{what} needs true or false, got {_kind(value)} ({_show(value)})",
                            hint="compare it: x != 0")
        return value  # type: ignore[return-value]

    def comparable(self, node: ast.AST, left: object, right: object) -> None:
        numbers = (int, float)
        if type(left) in numbers and type(right) in numbers or type(left) is type(right) and type(left) in (str, bool):
            return
        if type(left) is type(right) is type(None):
            return
        raise self.fail(node, f"cannot compare {_kind(left)} ({_show(left)}) with {_kind(right)} ({_show(right)})")

    def binary(self, node: ast.BinOp, left: object, right: object) -> object:
        op = _BINARY[type(node.op)]
        if op == "+" and type(left) is str and type(right) is str:
            if len(left) + len(right) > MAX_STRING:
                raise self.fail(node, f"string longer than {MAX_STRING:,} characters")
            return left + right
        a = self.number(node.left, left, f"`{op}`")
        b = self.number(node.right, right, f"`{op}`")
        if op in ("/", "//", "%") and b == 0:
            raise self.fail(node, "division by zero")
        if isinstance(a, int) and isinstance(b, int):
            if op == "*" and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
                raise self.fail(node, f"integer beyond 2**{MAX_INT_BITS}")
            if op == "**":
                if abs(b) > MAX_EXPONENT:
                    raise self.fail(node.right, f"exponent {_show(b)} is too large (at most {MAX_EXPONENT})")
                if b > 0 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
                    raise self.fail(node, f"integer beyond 2**{MAX_INT_BITS}")
                if b < 0 and a == 0:
                    raise self.fail(node, "division by zero (0 to a negative power)")
        elif op == "**" and abs(b) > MAX_EXPONENT:
            raise self.fail(node.right, f"exponent {_show(b)} is too large (at most {MAX_EXPONENT})")
        try:
            if op == "+":
                result = a + b
            elif op == "-":
                result = a - b
            elif op == "*":
                result = a * b
            elif op == "/":
                result = a / b
            elif op == "//":
                result = a // b
            elif op == "%":
                result = a % b
            else:
                if a == 0 and b < 0:
                    raise self.fail(node, "division by zero (0 to a negative power)")
                result = a ** b
        except OverflowError:
            raise self.fail(node, "number overflows") from None
        return self.bounded(node, result)

    def call(self, node: ast.Call) -> object:
        name = node.func.id  # type: ignore[attr-defined]
        args = [self.eval(a) for a in node.args]
        keywords = {k.arg: self.eval(k.value) for k in node.keywords}
        arity = {"min": (2, None), "max": (2, None), "abs": (1, 1), "int": (1, 1), "round": (1, 2), "ceil": (1, 1),
                 "floor": (1, 1), "divisible": (2, 3)}[name]
        count = len(args) + len(keywords)
        low, high = arity
        if count < low or (high is not None and count > high):
            takes = {"min": "two or more numbers", "max": "two or more numbers", "round": "(x) or (x, ndigits)",
                     "divisible": "(v, d, min_value=None)"}.get(name, "one number")
            raise self.fail(node, f"{name}() takes {takes}, got {count} argument{'s' if count != 1 else ''}")
        for index, value in enumerate(args):
            if not (name == "divisible" and index == 2 and value is None):
                self.number(node.args[index], value, f"{name}()")
        numbers = cast("list[Number]", args)  # checked just above (divisible's None min_value aside)
        try:
            if name in ("min", "max"):
                return (min if name == "min" else max)(numbers)
            if name == "abs":
                return abs(numbers[0])
            if name == "int":
                return self.bounded(node, int(numbers[0]))
            if name == "round":
                if len(numbers) == 2:
                    if type(numbers[1]) is not int or abs(numbers[1]) > 20:
                        raise self.fail(node.args[1], "round(x, ndigits): ndigits is an integer from -20 to 20")
                    return float(round(numbers[0], numbers[1]))
                return self.bounded(node, round(numbers[0]))
            if name in ("ceil", "floor"):
                return self.bounded(node, (math.ceil if name == "ceil" else math.floor)(numbers[0]))
            return self.divisible(node, args, keywords)
        except OverflowError:
            raise self.fail(node, "number overflows") from None

    def divisible(self, node: ast.Call, args: list[object], keywords: dict[str | None, object]) -> object:
        if "min_value" in keywords and len(args) == 3:
            raise self.fail(node, "divisible(): min_value given twice")
        v, d = cast(Number, args[0]), args[1]  # v is a number: call() checked it
        given = keywords.get("min_value", args[2] if len(args) == 3 else None)
        if not isinstance(d, int) or type(d) is not int or d < 1:
            raise self.fail(node.args[1], f"divisible(v, d): d must be an integer >= 1, got {_show(d)}")
        min_value = None if given is None else self.number(node, given, "divisible(): min_value")
        return self.bounded(node, divisible(v, d, min_value))


def _show(value: object) -> str:
    text = repr(value) if type(value) is str else str(value)
    return text if len(text) <= 30 else text[:20] + "..."

