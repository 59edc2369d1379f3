"""A small, safe expression language for ``where`` and ``map``.

Expressions look like Python and are evaluated by simpleeval over a whitelist;
nothing in a flow file can import, call a method, reach an attribute that starts
with ``_`` or run any code that is not listed here.

Names are the record's fields: ``status == 'demo'``; ``contact.email`` reads a
nested field (a flat key that itself contains dots wins over nesting); a field
whose name is not an identifier is read with ``get('First Name')``. The names
``true``/``True``, ``false``/``False`` and ``null``/``None`` are constants.

Operators: arithmetic ``+ - * / // %``, comparison ``== != < <= > >= in not in
is is not``, ``and or not``, ``x if c else y``, subscripts ``tags[0]`` and
literal lists or tuples ``status in ('demo', 'trial')``.

Functions (see ``FUNCTION_HELP``): ``int float bool str`` (casts that fail with
the value that could not be cast), ``lower upper strip len round``,
``iso(value[, format][, zone])``, ``split(text[, sep])``, ``join(items[, sep])``,
``concat(a, b, ...)``, ``coalesce(a, b, ...)``, ``none_if_empty(x)``,
``default(x, fallback)``, ``replace(text, old, new)``, ``match(text, pattern)``,
``sub(text, pattern, replacement)`` (regular expressions bounded by
``calsink.text``), ``zone(label)`` and ``get(path[, default])``.

Every expression is parsed and checked once, when the flow is loaded
(``compile_expression``); evaluating it per record raises only
``EvaluationError``. An expression that reads no field is evaluated then too, so
that its failure refuses the flow instead of every record.

Bounds: an expression is at most ``MAX_LENGTH`` characters and ``MAX_DEPTH``
levels deep; a list it gives holds at most ``MAX_ITEMS`` items and
``MAX_CHARACTERS`` characters in all (counted as they would be sent, shared
parts once per use); a number it gives is finite.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import orjson
import simpleeval

from calsink import dotted, text
from calsink.instants import (
    InstantError,
    is_format,
    normalise_formatted,
    normalise_instant,
    zone,
)

CONSTANTS: dict[str, Any] = {
    "True": True,
    "true": True,
    "False": False,
    "false": False,
    "None": None,
    "null": None,
}
MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_ITEMS = 100_000
MAX_CHARACTERS = 10_000_000
_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "t"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "f"})
_EMPTY_HINT = "the value is empty; wrap it in none_if_empty(...) to leave the field out"


class ExpressionError(ValueError):
    """An expression that cannot be used at all (found when the flow is loaded)."""


class EvaluationError(Exception):
    """A record for which an expression has no value: what was expected and found."""

    def __init__(self, expected: str, found: str | None = None, hint: str | None = None) -> None:
        self.expected = expected
        self.found = found
        self.hint = hint
        text = f"expected {expected}" + (f", found {found}" if found is not None else "")
        super().__init__(f"{text} ({hint})" if hint else text)


class MissingField(EvaluationError):
    """The expression names a field that the record does not have."""

    def __init__(self, name: str, record: dict[str, Any]) -> None:
        self.name = name
        super().__init__(
            f"a field `{name}` in the record", "none", "the record has: " + describe_keys(record)
        )


def describe_keys(record: dict[str, Any], limit: int = 20) -> str:
    keys = list(record)
    if not keys:
        return "no fields"
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def show(value: Any) -> str:
    """A value as a person would recognise it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, int | float):
        return repr(value)
    return f"{type(value).__name__} {text_of(value)[:60]}"


def text_of(value: Any) -> str:
    """A value as text in a template: null is empty, booleans are true/false, lists are JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


# --- the functions ------------------------------------------------------------------------


def to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    raise EvaluationError("an integer", show(value), _EMPTY_HINT if value == "" else None)


def to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
    else:
        number = math.nan
    if not math.isfinite(number):
        raise EvaluationError("a number", show(value), _EMPTY_HINT if value == "" else None)
    return number


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise EvaluationError(
        "a boolean (true/false, yes/no, 1/0)",
        show(value),
        _EMPTY_HINT if value == "" else None,
    )


def to_str(value: Any) -> str:
    return text_of(value)


def _text_function(method: Callable[[str], str]) -> Callable[[Any], str | None]:
    def apply(value: Any) -> str | None:
        return None if value is None else method(text_of(value))

    return apply


def length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | dict | tuple):
        return len(value)
    raise EvaluationError("a text, a list or an object", show(value))


def round_number(value: Any, digits: Any = None) -> int | float:
    number = to_float(value)
    if digits is None:
        return round(number)
    return round(number, to_int(digits))


def iso(value: Any, zone_or_format: Any = None, zone_name: Any = None) -> str:
    fmt: str | None = None
    if isinstance(zone_or_format, str) and is_format(zone_or_format):
        fmt = zone_or_format
    elif zone_name is None:
        zone_name = zone_or_format
    else:
        raise EvaluationError(
            "a date format such as 'mdy', 'dmy', 'epoch_ms' or '%d/%m/%Y %H:%M'",
            show(zone_or_format),
        )
    if zone_name is not None and not isinstance(zone_name, str):
        raise EvaluationError("a time zone name such as 'Europe/Berlin'", show(zone_name))
    try:
        if fmt is not None:
            return normalise_formatted(value, fmt, zone_name)
        return normalise_instant(value, zone_name)
    except InstantError as exc:
        raise EvaluationError(exc.expected, exc.found, exc.hint) from None
    except ValueError as exc:
        raise EvaluationError("an IANA time zone", show(zone_name), str(exc)) from None


def split(value: Any, separator: Any = ",") -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if not isinstance(separator, str) or not separator:
        raise EvaluationError("a non-empty separator text", show(separator))
    return [part.strip() for part in text_of(value).split(separator) if part.strip()]


def join(items: Any, separator: Any = ",") -> str:
    if items is None:
        return ""
    if not isinstance(items, list | tuple):
        raise EvaluationError("a list", show(items))
    return text_of(separator).join(text_of(item) for item in items if item is not None)


def concat(*values: Any) -> str:
    return "".join(text_of(value) for value in values)


def coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return None


def none_if_empty(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, list | dict) and not value:
        return None
    return value


def _as_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise EvaluationError(f"{what} as text", show(value))
    return value


def _text_error(exc: text.TextError, found: Any) -> EvaluationError:
    return EvaluationError(exc.expected, show(found), exc.hint)


def replace(value: Any, old: Any, new: Any) -> str | None:
    if value is None:
        return None
    return text_of(value).replace(_as_text(old, "the text to replace"), text_of(new))


def match(value: Any, pattern: Any) -> Any:
    if value is None:
        return None
    try:
        found = text.search(text_of(value), _as_text(pattern, "a regular expression"))
    except text.TextError as exc:
        raise _text_error(exc, value) from None
    if found is None:
        return None
    return found.group(1) if found.re.groups else found.group(0)


def substitute(value: Any, pattern: Any, replacement: Any) -> str | None:
    if value is None:
        return None
    try:
        return text.substitute(
            text_of(value),
            _as_text(pattern, "a regular expression"),
            _as_text(replacement, "a replacement"),
        )
    except text.TextError as exc:
        raise _text_error(exc, value) from None


def default(value: Any, fallback: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return fallback
    return value


def iana_zone(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return text.iana_zone(text_of(value))
    except text.TextError as exc:
        raise _text_error(exc, value) from None


FUNCTION_HELP: dict[str, str] = {
    "int": "int(x): an integer from a number or a text such as '42'",
    "float": "float(x): a number from a number or a text such as '4.5'",
    "bool": "bool(x): true/false from true/false, yes/no, y/n, on/off, 1/0",
    "str": "str(x): text; null becomes empty",
    "lower": "lower(x): lower-case text",
    "upper": "upper(x): upper-case text",
    "strip": "strip(x): text without surrounding spaces",
    "len": "len(x): the length of a text or a list",
    "round": "round(x[, digits]): a rounded number",
    "iso": (
        "iso(x[, format][, zone]): an ISO 8601 instant in UTC (…Z); format: 'mdy', 'dmy', "
        "'epoch', 'epoch_ms' or strptime ('%d/%m/%Y %H:%M'); naive date-times read in zone"
    ),
    "split": "split(text[, sep]): a list of the non-empty, stripped parts (sep defaults to ',')",
    "join": "join(list[, sep]): the items joined by sep (default ',')",
    "concat": "concat(a, b, ...): the values as one text",
    "coalesce": "coalesce(a, b, ...): the first value that is neither null nor empty",
    "none_if_empty": "none_if_empty(x): null for an empty text or list, so the key is left out",
    "get": "get(path[, default]): a field by name or dotted path; default (null) when absent",
    "default": "default(x, fallback): fallback when x is null, empty or only spaces",
    "replace": "replace(text, old, new): text with every old replaced by new",
    "match": (
        "match(text, pattern): the first match of a regular expression (its first group "
        "when it has groups), or null"
    ),
    "sub": "sub(text, pattern, replacement): every match of a regular expression replaced",
    "zone": "zone(label): the IANA zone a label names: '(GMT+01:00) Europe/Paris' → Europe/Paris",
}

_PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "int": to_int,
    "float": to_float,
    "bool": to_bool,
    "str": to_str,
    "lower": _text_function(str.lower),
    "upper": _text_function(str.upper),
    "strip": _text_function(str.strip),
    "len": length,
    "round": round_number,
    "iso": iso,
    "split": split,
    "join": join,
    "concat": concat,
    "coalesce": coalesce,
    "none_if_empty": none_if_empty,
    "default": default,
    "replace": replace,
    "match": match,
    "sub": substitute,
    "zone": iana_zone,
}


def _safe_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):
        raise EvaluationError("numbers on both sides of %", show(left))
    return operator.mod(left, right)


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: simpleeval.safe_add,
    ast.Sub: operator.sub,
    ast.Mult: simpleeval.safe_mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _safe_mod,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: lambda x, y: x is y,
    ast.IsNot: lambda x, y: x is not y,
}

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Call,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Attribute,
    *_OPERATORS,
)


class _Evaluator(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval over one record at a time: names are fields, nothing else is reachable."""

    def __init__(self) -> None:
        functions = dict(_PURE_FUNCTIONS)
        functions["get"] = self._get
        super().__init__(operators=dict(_OPERATORS), functions=functions, names={})
        self.record: dict[str, Any] = {}

    def _get(self, path: Any, default: Any = None) -> Any:
        if not isinstance(path, str):
            raise EvaluationError("a field name as text, e.g. get('contact.email')", show(path))
        return dotted.get(self.record, path, default)

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        if name in CONSTANTS:
            return CONSTANTS[name]
        record = self.record
        if name in record:
            return record[name]
        if "." in name:
            value = dotted.get(record, name, _ABSENT)
            if value is not _ABSENT:
                return value
        raise MissingField(name, record)


_ABSENT: Any = object()


class Expression:
    """One parsed, checked expression; ``evaluate`` runs it over a record.

    The checked tree is turned once into nested closures that use simpleeval's
    operator table and this module's functions (the hot path for a million rows);
    subscripts and slices are evaluated by simpleeval itself.
    """

    __slots__ = ("_evaluator", "_run", "text")

    def __init__(self, text: str, tree: ast.expr) -> None:
        self.text = text
        self._evaluator = _Evaluator()
        self._run = _closure(tree, self._evaluator)

    def evaluate(self, record: dict[str, Any]) -> Any:
        evaluator = self._evaluator
        evaluator.record = record
        try:
            value = self._run(record)
            if type(value) in _CHECKED_TYPES:
                _check_bounds(value)
            return value
        except EvaluationError:
            raise
        except (simpleeval.NumberTooHigh, simpleeval.IterableTooLong) as exc:
            raise EvaluationError(
                f"a value of bounded size from {self.text!r}", None, str(exc)
            ) from None
        except (KeyError, IndexError) as exc:
            raise EvaluationError(
                f"a value from {self.text!r}", f"no item {exc.args[0]!r}" if exc.args else None
            ) from None
        except Exception as exc:  # any other failure is this record's problem, not the run's
            raise EvaluationError(
                f"a value from {self.text!r}", None, f"{type(exc).__name__}: {exc}"[:200]
            ) from None
        finally:
            evaluator.record = {}

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


Run = Callable[[dict[str, Any]], Any]
_SIZE_HINT = "the expression builds a value too large to send"


_CHECKED_TYPES = frozenset({float, list, tuple, dict})


def _check_bounds(value: Any) -> None:
    """EvaluationError unless ``value`` is a finite number, or a list or object in bounds."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_finite(value)
    else:
        _check_size(value)


def _not_finite(value: float) -> EvaluationError:
    return EvaluationError(
        "a finite number",
        show(value),
        "the result is too large for a number, or not a number; check the field's values",
    )


def _check_size(value: list[Any] | tuple[Any, ...] | dict[str, Any]) -> None:
    items = characters = 0
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list | tuple):
            items += len(item)
            if items > MAX_ITEMS:
                raise EvaluationError(
                    f"a list of at most {MAX_ITEMS:,} items",
                    f"more than {MAX_ITEMS:,} items",
                    _SIZE_HINT,
                )
            pending.extend(item)
        elif isinstance(item, str):
            characters += len(item)
            if characters > MAX_CHARACTERS:
                raise EvaluationError(
                    f"a list of at most {MAX_CHARACTERS:,} characters in all",
                    f"more than {MAX_CHARACTERS:,}",
                    _SIZE_HINT,
                )
        elif isinstance(item, float) and not math.isfinite(item):
            raise _not_finite(item)


def _closure(node: ast.expr, evaluator: _Evaluator) -> Run:
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda record: constant
    if isinstance(node, ast.Name):
        return _name_closure(node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call_closure(evaluator.functions[node.func.id], node.args, evaluator)
    if isinstance(node, ast.Compare):
        return _compare_closure(node, evaluator)
    if isinstance(node, ast.BoolOp):
        values = [_closure(value, evaluator) for value in node.values]
        return _and_closure(values) if isinstance(node.op, ast.And) else _or_closure(values)
    if isinstance(node, ast.UnaryOp):
        unary = _OPERATORS[type(node.op)]
        operand = _closure(node.operand, evaluator)
        return lambda record: unary(operand(record))
    if isinstance(node, ast.BinOp):
        binary = _OPERATORS[type(node.op)]
        left, right = _closure(node.left, evaluator), _closure(node.right, evaluator)
        return lambda record: binary(left(record), right(record))
    if isinstance(node, ast.IfExp):
        test = _closure(node.test, evaluator)
        body, orelse = _closure(node.body, evaluator), _closure(node.orelse, evaluator)
        return lambda record: body(record) if test(record) else orelse(record)
    if isinstance(node, ast.List | ast.Tuple):
        items = [_closure(item, evaluator) for item in node.elts]
        if isinstance(node, ast.Tuple):
            return lambda record: tuple(item(record) for item in items)
        return lambda record: [item(record) for item in items]
    return lambda record: evaluator._eval(node)


def _name_closure(name: str) -> Run:
    if name in CONSTANTS:
        constant = CONSTANTS[name]
        return lambda record: constant
    if "." not in name:

        def read_flat(record: dict[str, Any]) -> Any:
            try:
                return record[name]
            except KeyError:
                raise MissingField(name, record) from None

        return read_flat

    def read_dotted(record: dict[str, Any]) -> Any:
        value = dotted.get(record, name, _ABSENT)
        if value is _ABSENT:
            raise MissingField(name, record)
        return value

    return read_dotted


def _call_closure(function: Callable[..., Any], args: list[ast.expr], evaluator: _Evaluator) -> Run:
    arguments = [_closure(arg, evaluator) for arg in args]
    if len(arguments) == 1:
        only = arguments[0]
        return lambda record: function(only(record))
    if len(arguments) == 2:
        first, second = arguments
        return lambda record: function(first(record), second(record))
    return lambda record: function(*[argument(record) for argument in arguments])


def _compare_closure(node: ast.Compare, evaluator: _Evaluator) -> Run:
    left = _closure(node.left, evaluator)
    steps = [
        (_OPERATORS[type(op)], _closure(comparator, evaluator))
        for op, comparator in zip(node.ops, node.comparators, strict=True)
    ]
    if len(steps) == 1:
        compare, right = steps[0]
        return lambda record: compare(left(record), right(record))

    def chain(record: dict[str, Any]) -> Any:
        current = left(record)
        for compare, right in steps:
            following = right(record)
            if not compare(current, following):
                return False
            current = following
        return True

    return chain


def _and_closure(values: list[Run]) -> Run:
    def evaluate(record: dict[str, Any]) -> Any:
        result: Any = True
        for value in values:
            result = value(record)
            if not result:
                return result
        return result

    return evaluate


def _or_closure(values: list[Run]) -> Run:
    def evaluate(record: dict[str, Any]) -> Any:
        result: Any = False
        for value in values:
            result = value(record)
            if result:
                return result
        return result

    return evaluate


_CALL_OR_QUOTE = re.compile(r"""^\s*(?:=|[A-Za-z_][A-Za-z0-9_]*\(|['"])""")


def is_expression(text: str) -> bool:
    """Whether a flow value is written as an expression: ``= ...``, a call, or a quote."""
    return _CALL_OR_QUOTE.match(text) is not None


def compile_expression(text: str) -> Expression:
    """Parse and check ``text`` once; ExpressionError says what is wrong and how to write it."""
    source = text.strip()
    if not source:
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_LENGTH:,} characters ({len(source):,}); "
            "split it over several fields, or compute the value before calsink reads it"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except (RecursionError, MemoryError):
        raise ExpressionError(_TOO_DEEP) from None
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(
            f"not a valid expression{where}: {exc.msg}; "
            "quote text constants (\"'vacation'\") and name fields directly: int(event_type_id)"
        ) from None
    _check_depth(tree.body)
    body = _rewrite_dotted_names(tree.body)
    _check(body)
    expression = Expression(source, body)
    if not _reads_record(body):
        try:
            expression.evaluate({})
        except EvaluationError as exc:
            raise ExpressionError(str(exc)) from None
    return expression


_TOO_DEEP = (
    f"the expression is nested deeper than {MAX_DEPTH} levels (operators, calls and brackets "
    "inside one another); write it in simpler steps"
)


def _check_depth(tree: ast.expr) -> None:
    pending: list[tuple[ast.AST, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(_TOO_DEEP)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _reads_record(tree: ast.expr) -> bool:
    """Whether the expression names a field (or calls get): its value depends on the record."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return any(
        isinstance(node, ast.Name)
        and node.id not in CONSTANTS
        and (id(node) not in called or node.id == "get")
        for node in ast.walk(tree)
    )


def _rewrite_dotted_names(node: ast.expr) -> ast.expr:
    """``contact.email`` becomes one name looked up as a dotted path."""

    class Rewriter(ast.NodeTransformer):
        def visit_Attribute(self, attribute: ast.Attribute) -> ast.AST:
            path = _dotted_path(attribute)
            if path is None:
                return self.generic_visit(attribute)
            return ast.copy_location(ast.Name(id=path, ctx=ast.Load()), attribute)

    rewritten = Rewriter().visit(node)
    assert isinstance(rewritten, ast.expr)
    return rewritten


def _dotted_path(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _check(tree: ast.expr) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.Dict | ast.SetComp | ast.DictComp):
            raise ExpressionError(
                "braces are not allowed inside an expression: name fields directly, "
                "e.g. int(event_type_id), not int({event_type_id})"
            )
        if isinstance(node, ast.JoinedStr):
            raise ExpressionError("f-strings are not allowed: use concat(a, ' ', b) or a template")
        if isinstance(node, ast.Attribute):
            raise ExpressionError(
                f"`.{node.attr}` is not allowed: methods and attributes are not available; "
                "use the functions, e.g. lower(email), and dotted field names such as contact.email"
            )
        if isinstance(node, ast.Name) and any(p.startswith("_") for p in node.id.split(".")):
            raise ExpressionError(
                f"names starting with '_' are not allowed ({node.id}); use get({node.id!r})"
            )
        if isinstance(node, ast.Call):
            _check_call(node)
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError("only the listed functions can be called, e.g. lower(email)")
    name = node.func.id
    if "." in name:
        raise ExpressionError(
            f"{name}() is not allowed: methods are not available; use the functions, "
            f"e.g. {name.rsplit('.', 1)[1]}({name.rsplit('.', 1)[0]})"
        )
    if name not in FUNCTION_HELP:
        raise ExpressionError(
            f"unknown function {name}(); available: {', '.join(FUNCTION_HELP)} "
            f"(to write this text literally, quote it: \"'{name}(...)'\")"
        )
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ExpressionError(f"{name}() takes positional arguments only: {FUNCTION_HELP[name]}")
    if name == "iso":
        _check_iso_arguments(node.args)
    if name in _ARITY and not _ARITY[name][0] <= len(node.args) <= _ARITY[name][1]:
        raise ExpressionError(f"{name}() takes {_ARITY[name][2]}: {FUNCTION_HELP[name]}")
    if name in ("match", "sub") and len(node.args) >= 2:
        given = node.args[1]
        if isinstance(given, ast.Constant) and isinstance(given.value, str):
            try:
                text.pattern(given.value)
            except text.PatternError as exc:
                raise ExpressionError(str(exc)) from None


_ARITY: dict[str, tuple[int, int, str]] = {
    "default": (2, 2, "two arguments"),
    "replace": (3, 3, "three arguments"),
    "match": (2, 2, "two arguments"),
    "sub": (3, 3, "three arguments"),
    "zone": (1, 1, "one argument"),
}


def _check_iso_arguments(args: list[ast.expr]) -> None:
    """A constant zone must exist, and at most one format and one zone are given."""
    if len(args) > 3:
        raise ExpressionError(f"iso() takes at most three arguments: {FUNCTION_HELP['iso']}")
    constants = [
        arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        for arg in args[1:]
    ]
    for position, given in enumerate(constants):
        if given is None or (position == 0 and is_format(given)):
            continue
        if position == 1 and is_format(given):
            raise ExpressionError(f"iso(x, format, zone): {given!r} is a format, not a zone")
        if position == 0 and len(args) == 3:
            raise ExpressionError(
                f"iso(x, format, zone): {given!r} is not a format such as 'mdy' or '%d/%m/%Y'"
            )
        try:
            zone(given)
        except ValueError as exc:
            raise ExpressionError(str(exc)) from None
