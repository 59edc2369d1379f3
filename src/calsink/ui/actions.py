"""The page's actions, each a call into the library: preview, test, save.

These functions block (they read files and talk to Cal.com); the server runs them
in a worker thread.  None of them returns a secret.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from calsink.credentials import Credential, CredentialStore, resolve_api_key
from calsink.flow import Flow, FlowReference, LoadedFlow
from calsink.records import Filtered, Rejection, Request
from calsink.redact import preview_headers
from calsink.render import ResolveReference
from calsink.ui.drafts import DraftError, attribute_paths, flow_to_yaml
from calsink.ui.views import filtered_view, rejection_view, request_view

MAX_SAMPLES = 50


def preview(loaded: LoadedFlow, count: int) -> dict[str, Any]:
    """The first ``count`` outcomes of the real pipeline, as the Sample Payload panel shows them.

    The same calls as ``calsink preview``: the flow's renderer and transformer over its
    source, each request shown by ``preview_json``.  Configuration problems (source,
    transform, render) raise; the server shows them beside the form.
    """
    from calsink.pipeline import build_renderer, prepare
    from calsink.sources import open_source
    from calsink.transform import Transformer

    if loaded.flow.source.path == "":
        raise DraftError(["source.path: choose the file to read the records from"])
    if loaded.flow.source.path == "-":
        raise DraftError(["source.path: the page cannot read stdin; choose a file"])
    count = max(1, min(count, MAX_SAMPLES))
    samples: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    rejected_records: list[dict[str, Any]] = []
    with _reference_resolver(loaded) as resolver:
        renderer = build_renderer(loaded, resolver)
        transformer = Transformer(loaded.flow.transform)
        items = open_source(loaded.flow.source, loaded.base_dir)
        outcomes: Iterator[Request | Rejection | Filtered] = prepare(
            loaded, items, renderer=renderer, transformer=transformer
        )
        try:
            for outcome in itertools.islice(outcomes, count):
                if isinstance(outcome, Request):
                    samples.append(request_view(outcome, loaded.flow.name))
                    records.extend(outcome.records)
                elif isinstance(outcome, Rejection):
                    samples.append(rejection_view(outcome))
                    if outcome.record is not None:
                        rejected_records.append(outcome.record)
                else:
                    samples.append(filtered_view(outcome))
        finally:
            close = getattr(outcomes, "close", None)
            if callable(close):
                close()
    # A rejected record may be the source row rather than the mapped one: a last resort.
    attributes = attribute_paths(records or rejected_records)
    for excluded in loaded.flow.destination.exclude:
        if excluded not in attributes:
            attributes.append(excluded)
    return {"samples": samples, "attributes": attributes, "warnings": list(renderer.warnings)}


@contextmanager
def _reference_resolver(loaded: LoadedFlow) -> Iterator[ResolveReference | None]:
    """Path parameters from an earlier flow come from the ledger, as `calsink preview` does."""
    uses_references = any(
        isinstance(spec, FlowReference) for spec in loaded.flow.destination.params.values()
    )
    from calsink.ledgers import ledger_exists, ledger_location, open_ledger

    path = ledger_location(loaded)
    if not uses_references or not ledger_exists(path):
        yield None
        return
    ledger = open_ledger(path)
    try:
        yield ledger.resolve_reference
    finally:
        ledger.close()


def is_destructive(loaded: LoadedFlow) -> bool:
    """Cancels bookings or deletes event types: the page asks before sending."""
    from calsink.runner import is_destructive as library_is_destructive

    return library_is_destructive(loaded)


def credential_for(flow: Flow, store: CredentialStore) -> Credential:
    return resolve_api_key(flow.destination, store=store)


def send_test(
    loaded: LoadedFlow,
    store: CredentialStore,
    *,
    record_index: int,
    payload: Any | None,
    yes: bool,
) -> dict[str, Any]:
    """Send one request as `calsink test` does, and describe the response.

    The request goes to the flow's base URL — the one the samples show.
    """
    from calsink.runner import send_test as library_send_test

    credential = credential_for(loaded.flow, store)
    result = library_send_test(
        loaded,
        api_key=credential.api_key,
        record_index=record_index,
        payload=payload,
        yes=yes,
    )
    return {
        "position": result.position,
        "method": result.method,
        "url": result.url,
        "request_headers": [list(pair) for pair in preview_headers(result.request_headers)],
        "request_body": result.request_body,
        "status": result.status,
        "ok": result.ok,
        "headers": result.headers,
        "body": result.body,
        "elapsed_s": round(result.elapsed_s, 3),
        "error": result.error,
    }


def save(flow: Flow, path: Path) -> str:
    """Write the flow file; return its YAML."""
    if path.suffix not in {".yaml", ".yml"}:
        raise DraftError([f"flow file: expected a .yaml or .yml file name, found {path.name!r}"])
    text = flow_to_yaml(flow)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
    return text


def tail_jsonl(path: Path, limit: int = 50) -> list[Any]:
    """The last ``limit`` JSON lines of a file (dead letters, captured responses)."""
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries: list[Any] = []
    for line in lines[-limit:]:
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                entries.append({"unreadable line": line[:200]})
    return entries


SOURCE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")


def source_files(base_dir: Path, limit: int = 200) -> list[str]:
    """Candidate source files under the working directory (two levels deep)."""
    found: list[str] = []
    for pattern in ("*", "*/*", "*/*/*"):
        for candidate in sorted(base_dir.glob(pattern)):
            parts = candidate.relative_to(base_dir).parts
            if any(part.startswith(".") for part in parts) or "node_modules" in parts:
                continue
            if candidate.suffix.lower() in SOURCE_SUFFIXES and candidate.is_file():
                found.append(candidate.relative_to(base_dir).as_posix())
                if len(found) >= limit:
                    return found
    return found
