"""Render every record and send nothing: what `validate`, `preview` and the page share.

`check` yields each record's outcome (a request, a rejection or a record `where` left out)
with the earlier position of a record whose delivery key it repeats; `ValidationCounts`
counts them the one way every command counts (read = valid + rejected + filtered +
duplicates); `preview_json` shows a request exactly as it goes on the wire, secrets hidden.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calsink.flow import FlowReference, LoadedFlow
from calsink.records import Filtered, Position, Rejection, Request, SourceItem
from calsink.render import ResolveReference

__all__ = [
    "Checked",
    "Outcome",
    "ValidationCounts",
    "ValidationReport",
    "check",
    "known_secrets",
    "outcomes",
    "preview_json",
    "reference_resolver",
]


@contextmanager
def reference_resolver(
    loaded: LoadedFlow, ledger: str | None = None
) -> Iterator[ResolveReference | None]:
    """Path parameters from an earlier flow, looked up in the flow's ledger (or ``ledger``)
    when the flow takes any and the ledger exists."""
    from calsink.ledgers import ledger_exists, ledger_location, open_ledger

    uses_references = any(
        isinstance(spec, FlowReference) for spec in loaded.flow.destination.params.values()
    )
    if ledger and not ledger.startswith(("postgresql://", "postgres://")):
        ledger = str(Path(ledger).resolve())
    location = ledger_location(loaded, ledger)
    if not uses_references or not ledger_exists(location):
        yield None
        return
    opened = open_ledger(location)
    try:
        yield opened.resolve_reference
    finally:
        opened.close()


Outcome = Request | Rejection | Filtered


def outcomes(
    loaded: LoadedFlow,
    resolver: ResolveReference | None,
    *,
    keys: bool = True,
    bodies: bool = True,
    on_warning: Callable[[str], None] | None = None,
    accounts: Mapping[str, str | None] | None = None,
    items: Iterable[SourceItem] | None = None,
) -> Iterator[Outcome]:
    """Each record of the flow's source (or ``items`` in its place), transformed and
    rendered (``bodies=False`` leaves out what only a sent body needs; ``accounts``, name →
    own base URL, are the credentials a flow whose records name theirs may name: by
    default, those stored)."""
    from calsink.pipeline import build_renderer, prepare
    from calsink.sources import open_source
    from calsink.transform import Transformer

    renderer = build_renderer(
        loaded, resolver, content_keys=keys, fingerprints=bodies, accounts=accounts
    )
    transformer = Transformer(loaded.flow.transform)
    if on_warning is not None:
        for warning in renderer.warnings:
            on_warning(warning)
    if items is None:
        stdin = sys.stdin.buffer if loaded.flow.source.path == "-" else None
        items = open_source(loaded.flow.source, loaded.base_dir, stdin=stdin)
    yield from prepare(loaded, items, renderer=renderer, transformer=transformer)


@dataclass(frozen=True, slots=True)
class Checked:
    """One outcome of `check`; ``duplicate_of`` is where a request's key was first seen."""

    outcome: Outcome
    duplicate_of: Position | None = None


def check(
    loaded: LoadedFlow,
    resolver: ResolveReference | None,
    *,
    on_warning: Callable[[str], None] | None = None,
    items: Iterable[SourceItem] | None = None,
) -> Iterator[Checked]:
    """Every record checked as a run would check it, duplicates of a key told apart."""
    from calsink.deliver.seen import SeenKeys

    seen = SeenKeys()
    try:
        for outcome in outcomes(loaded, resolver, bodies=False, on_warning=on_warning, items=items):
            first = None
            if isinstance(outcome, Request):
                first = seen.first(outcome.key, outcome.position)
            yield Checked(outcome, first)
    finally:
        seen.close()


@dataclass(slots=True)
class ValidationCounts:
    """What `validate` counts; ``read`` is always the sum of the other four."""

    valid: int = 0
    rejected: int = 0
    filtered: int = 0
    duplicates: int = 0
    warnings: int = 0

    @property
    def read(self) -> int:
        return self.valid + self.rejected + self.filtered + self.duplicates

    def add(self, checked: Checked) -> None:
        outcome = checked.outcome
        if isinstance(outcome, Request):
            if checked.duplicate_of is not None:
                self.duplicates += len(outcome.positions)
            else:
                self.valid += len(outcome.positions)
                self.warnings += len(outcome.warnings)
        elif isinstance(outcome, Rejection):
            self.rejected += 1
        else:
            self.filtered += 1

    def to_json(self) -> dict[str, int]:
        return {
            "read": self.read,
            "valid": self.valid,
            "rejected": self.rejected,
            "filtered": self.filtered,
            "duplicates": self.duplicates,
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A record with the delivery key of an earlier one: a run skips it."""

    position: Position
    duplicate_of: Position

    @property
    def reason(self) -> str:
        return f"duplicate of {self.duplicate_of}"

    def to_json(self) -> dict[str, str]:
        return {"position": str(self.position), "reason": self.reason}


@dataclass(slots=True)
class ValidationReport:
    """The account of `calsink.validate`: the counts, each rejection (what was expected of
    which field, and what was found) and each duplicate."""

    flow: str
    counts: ValidationCounts = field(default_factory=ValidationCounts)
    rejections: list[Rejection] = field(default_factory=list)
    duplicate_records: list[Duplicate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.counts.rejected == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            **self.counts.to_json(),
            "rejections": [rejection.to_json() for rejection in self.rejections],
            "duplicate_records": [duplicate.to_json() for duplicate in self.duplicate_records],
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning that stops nothing: about one record (at ``position``), or about the flow
    (``position`` None)."""

    text: str
    position: Position | None = None

    def __str__(self) -> str:
        return self.text if self.position is None else f"{self.position}: {self.text}"


Finding = Rejection | Duplicate | Notice


def validate_flow(
    loaded: LoadedFlow,
    *,
    ledger: str | None = None,
    items: Iterable[SourceItem] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> ValidationReport:
    """Check every record of the flow (or ``items``); nothing is sent, no key is needed.

    Each rejection, duplicate and warning goes in the report, or, with ``on_finding``,
    to it as it is found (the report then keeps the counts alone: memory stays flat)."""
    report = ValidationReport(loaded.flow.name)

    def keep(finding: Finding) -> None:
        if isinstance(finding, Rejection):
            report.rejections.append(finding)
        elif isinstance(finding, Duplicate):
            report.duplicate_records.append(finding)
        else:
            report.warnings.append(str(finding))

    found = on_finding or keep
    with reference_resolver(loaded, ledger) as resolver:
        for checked in check(loaded, resolver, on_warning=lambda w: found(Notice(w)), items=items):
            report.counts.add(checked)
            outcome = checked.outcome
            if isinstance(outcome, Rejection):
                found(_told(outcome))
            elif isinstance(outcome, Request):
                if checked.duplicate_of is not None:
                    found(Duplicate(outcome.position, checked.duplicate_of))
                else:
                    for warning in outcome.warnings:
                        found(Notice(warning, outcome.position))
    return report


def _told(rejection: Rejection) -> Rejection:
    """A rejection as validate and preview tell it: without the source record (a report of
    many rejections stays small)."""
    return Rejection(rejection.position, rejection.problems)


def preview_requests(
    loaded: LoadedFlow,
    count: int = 3,
    *,
    ledger: str | None = None,
    items: Iterable[SourceItem] | None = None,
    on_finding: Callable[[Rejection | Notice], None] | None = None,
) -> list[dict[str, Any]]:
    """The first ``count`` requests of the flow exactly as they would be sent, secrets
    hidden (`preview_json` of each); ``on_finding`` is told of the flow's warnings and of
    each record rejected on the way."""
    shown: list[dict[str, Any]] = []
    secrets = known_secrets(loaded)
    on_warning = None if on_finding is None else lambda w: on_finding(Notice(w))
    with reference_resolver(loaded, ledger) as resolver:
        for outcome in outcomes(loaded, resolver, items=items, on_warning=on_warning):
            if isinstance(outcome, Request):
                shown.append(preview_json(outcome, secrets))
                if len(shown) >= count:
                    break
            elif isinstance(outcome, Rejection) and on_finding is not None:
                on_finding(_told(outcome))
    return shown


def preview_json(request: Request, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """One request as ``preview --json`` shows it: secrets redacted, body decoded.

    The request is what goes on the wire: render has written a booking's
    ``metadata.calsink_key`` into its body already (unless ``delivery.fingerprint_bookings``
    is false).
    """
    import orjson

    from calsink.redact import preview_headers, redact_payload, redact_text, redact_url

    body = orjson.loads(request.body) if request.body is not None else None
    shown: dict[str, Any] = {
        "position": str(request.position),
        "method": request.method,
        "url": redact_url(request.url, secrets),
        "headers": dict(preview_headers(request.headers)),
        "body": redact_payload(body),
        "warnings": list(request.warnings),
        "key": redact_text(request.key, secrets),
        "template": request.template,
    }
    if len(request.positions) > 1:
        shown["positions"] = [str(p) for p in request.positions]
    if request.credential is not None:
        shown["credential"] = request.credential  # its name: the key stays hidden
    return shown


def known_secrets(loaded: LoadedFlow) -> list[str]:
    """The API key of the flow when its environment variable holds it (hidden by value)."""
    name = loaded.flow.destination.api_key_env
    value = os.environ.get(name, "").strip() if name else ""
    return [value] if value else []
