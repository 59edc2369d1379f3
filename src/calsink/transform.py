"""The transform: ``where`` keeps or leaves out a record, ``map`` shapes the outgoing one.

``where`` is always an expression (see ``calsink.expressions``) over the incoming
record; a false answer makes ``apply`` return None (the record ends as skipped).

``map`` is the outgoing record, key for key. Nested mappings make nested objects;
lists are lists whose items follow the same rules. A value that is not a string
(a number, a boolean, null) is a constant. A string is read by the first rule
that fits:

1. It starts with ``=``: the rest is an expression: ``"= amount > 0"``.
2. It starts with a function call or a quote: an expression:
   ``"int(event_type_id)"``, ``"iso(demo_at, 'Europe/Berlin')"``, ``"'vacation'"``.
   An unknown function name is refused when the flow is loaded (quote the text,
   ``"'Intro(duction)'"``, to mean it literally).
3. It contains ``{`` or ``}``: a template. ``{path}`` is a field, dotted paths
   reach nested fields (``{contact.email}``), ``{{`` and ``}}`` are literal braces.
   A template that is exactly one ``{path}`` keeps the value's type (a JSON number
   stays a number); otherwise values are joined as text (null as empty).
4. Anything else is literal text: ``"Europe/Berlin"``, ``"BOOKING_CREATED"``.

A value that comes out as null (``none_if_empty(phone)`` over an empty cell,
``"{x}"`` over a JSON null) leaves its key out of the outgoing record; a YAML
``null`` constant is kept as an explicit null. A template over an empty CSV cell
gives ``""``.

Every expression and template is checked when the Transformer is built
(TransformConfigError names the key); a record that cannot be transformed raises
RecordError with one Problem per key that failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from calsink import dotted
from calsink.expressions import (
    EvaluationError,
    ExpressionError,
    MissingField,
    compile_expression,
    text_of,
)
from calsink.flow import TransformSettings
from calsink.records import Problem, Record

_CALL_OR_QUOTE = re.compile(r"""^\s*(?:[A-Za-z_][A-Za-z0-9_]*\(|['"])""")
_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_EXPLICIT_NULL: Any = object()

Evaluate = Callable[[Record], Any]


class TransformConfigError(ValueError):
    """A ``where`` or ``map`` entry that cannot be used; raised before any record is read."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"transform.{key}: {problem}")


class RecordError(Exception):
    """A record that cannot be transformed, with one problem per failing key."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


class _Failure(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


class Transformer:
    """``where`` and ``map`` compiled once; ``apply`` runs them over one record.

    A Transformer keeps per-call state while it evaluates: use one per thread.
    """

    def __init__(self, settings: TransformSettings | None) -> None:
        self.where: str | None = None
        self._where: Evaluate | None = None
        self._map: Evaluate | None = None
        if settings is None:
            return
        if settings.where is not None:
            self.where = settings.where
            try:
                expression = compile_expression(settings.where.removeprefix("="))
            except ExpressionError as exc:
                raise TransformConfigError("where", str(exc)) from None
            self._where = expression.evaluate
        if settings.map is not None:
            self._map = _compile_mapping(settings.map, "map", "")

    def apply(self, record: Record) -> Record | None:
        """The outgoing record, or None when ``where`` is false; RecordError when it cannot be."""
        if self._where is not None:
            try:
                keep = self._where(record)
            except EvaluationError as exc:
                raise RecordError([_problem("where", exc)]) from None
            if not keep:
                return None
        try:
            if self._map is None:
                copied: Record = _copy(record)
                return copied
            result: Record = self._map(record)
        except _Failure as failure:
            raise RecordError(failure.problems) from None
        except RecursionError:
            raise RecordError([_TOO_DEEP]) from None
        return result


_TOO_DEEP = Problem(
    field=None,
    expected="a record nested fewer than a few hundred levels deep",
    found="deeper nesting",
)


def _problem(field: str, exc: EvaluationError) -> Problem:
    return Problem(field=field, expected=exc.expected, found=exc.found, hint=exc.hint)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --- compiling the map ---------------------------------------------------------------------


def _compile_mapping(mapping: dict[str, Any], config_key: str, output_prefix: str) -> Evaluate:
    entries: list[tuple[str, str, Evaluate]] = []
    for key, value in mapping.items():
        name = str(key)
        output_key = f"{output_prefix}{name}"
        compute = _compile_value(value, f"{config_key}.{name}", output_key)
        entries.append((name, output_key, compute))

    def evaluate(record: Record) -> Record:
        result: Record = {}
        problems: list[Problem] = []
        for name, output_key, compute in entries:
            try:
                value = compute(record)
            except EvaluationError as exc:
                problems.append(_problem(output_key, exc))
                continue
            except _Failure as failure:
                problems.extend(failure.problems)
                continue
            if value is _EXPLICIT_NULL:
                result[name] = None
            elif value is not None:
                result[name] = value
        if problems:
            raise _Failure(problems)
        return result

    return evaluate


def _compile_value(value: Any, config_key: str, output_key: str) -> Evaluate:
    if isinstance(value, dict):
        return _compile_mapping(value, config_key, f"{output_key}.")
    if isinstance(value, list):
        items = [
            _compile_value(item, f"{config_key}[{index}]", f"{output_key}[{index}]")
            for index, item in enumerate(value)
        ]

        def evaluate_list(record: Record) -> list[Any]:
            values = (compute(record) for compute in items)
            return [None if item is _EXPLICIT_NULL else item for item in values if item is not None]

        return evaluate_list
    if isinstance(value, str):
        return _compile_text(value, config_key)
    if value is None:
        return lambda record: _EXPLICIT_NULL
    return lambda record: _copy(value)


def _compile_text(text: str, config_key: str) -> Evaluate:
    stripped = text.lstrip()
    if stripped.startswith("=") or _CALL_OR_QUOTE.match(stripped):
        source = stripped[1:] if stripped.startswith("=") else stripped
        try:
            return compile_expression(source).evaluate
        except ExpressionError as exc:
            raise TransformConfigError(config_key, f"{exc} (in {_excerpt(text)})") from None
    if "{" in text or "}" in text:
        return _compile_template(text, config_key)
    return lambda record: text


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _compile_template(text: str, config_key: str) -> Evaluate:
    parts: list[tuple[bool, str]] = []  # (is a field path, text or path)
    position = 0
    for match in _TEMPLATE_PART.finditer(text):
        if match.start() > position:
            parts.append((False, text[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is None:
            raise TransformConfigError(
                config_key,
                f"unbalanced {token!r} in the template {text!r} "
                f"(write {token * 2} for a literal one)",
            )
        else:
            path = match.group(1).strip()
            if not path:
                raise TransformConfigError(
                    config_key, f"empty {{}} in the template {text!r}: name a field, e.g. {{email}}"
                )
            parts.append((True, path))
        position = match.end()
    if position < len(text):
        parts.append((False, text[position:]))

    if len(parts) == 1 and parts[0][0]:
        return _field_reader(parts[0][1])

    fields = {piece: _field_reader(piece) for is_field, piece in parts if is_field}
    pieces = [(fields.get(piece) if is_field else None, piece) for is_field, piece in parts]

    def render(record: Record) -> str:
        out: list[str] = []
        for read, piece in pieces:
            if read is None:
                out.append(piece)
            else:
                value = read(record)
                out.append(value if type(value) is str else text_of(value))
        return "".join(out)

    return render


def _field_reader(path: str) -> Evaluate:
    if "." not in path:

        def read_flat(record: Record) -> Any:
            try:
                return record[path]
            except KeyError:
                raise MissingField(path, record) from None

        return read_flat

    def read_dotted(record: Record) -> Any:
        try:
            return dotted.get(record, path)
        except KeyError:
            raise MissingField(path, record) from None

    return read_dotted
