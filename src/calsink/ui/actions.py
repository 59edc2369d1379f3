"""The page's actions, each a call into the library: preview, test, save.

These functions block (they read files and talk to Cal.com); the server runs them
in a worker thread.  None of them returns a secret.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import calsink
from calsink import Flow, LoadedFlow
from calsink.checking import outcomes, reference_resolver
from calsink.credentials import Credential, CredentialStore, resolve_api_key
from calsink.records import Filtered, Rejection, Request
from calsink.ui.drafts import DraftError, attribute_paths, flow_to_yaml
from calsink.ui.views import filtered_view, rejection_view, request_view

MAX_SAMPLES = 50
# The preview reads at most this many source outcomes to find requests among skipped rows.
MAX_SCANNED = 20_000


def preview(loaded: LoadedFlow, count: int, store: CredentialStore | None = None) -> dict[str, Any]:
    """The first ``count`` outcomes of the real pipeline, as the Sample Payload panel shows them.

    The same calls as ``calsink preview``: the flow's records checked one by one
    (`calsink.checking.outcomes`), each request shown by ``preview_json``; a flow whose
    records name their credential takes the names from ``store`` (the page's own).
    Configuration problems (source, transform, render) raise; the server shows them beside
    the form.
    """
    if loaded.flow.source.path == "":
        raise DraftError(["source.path: choose the file to read the records from"])
    if loaded.flow.source.path == "-":
        raise DraftError(["source.path: the page cannot read stdin; choose a file"])
    count = max(1, min(count, MAX_SAMPLES))
    samples: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    rejected_records: list[dict[str, Any]] = []
    warnings: list[str] = []
    with reference_resolver(loaded) as resolver:
        accounts = None
        if store is not None and loaded.flow.destination.credential_per_record:
            accounts = store.bases()
        checked: Iterator[Request | Rejection | Filtered] = outcomes(
            loaded, resolver, on_warning=warnings.append, accounts=accounts
        )
        # Rows the where filter skips do not use up the samples: requests and rejections
        # come first (batches come out when their group is complete, after those rows).
        sent = skipped = 0
        try:
            for outcome in itertools.islice(checked, MAX_SCANNED):
                if isinstance(outcome, Request):
                    samples.append(request_view(outcome))
                    records.extend(outcome.records)
                elif isinstance(outcome, Rejection):
                    samples.append(rejection_view(outcome))
                    if outcome.record is not None:
                        rejected_records.append(outcome.record)
                elif sent + skipped < count:
                    samples.append(filtered_view(outcome))
                    skipped += 1
                    continue
                else:
                    continue
                sent += 1
                if sent >= count:
                    break
        finally:
            close = getattr(checked, "close", None)
            if callable(close):
                close()
    # A rejected record may be the source row rather than the mapped one: a last resort.
    samples = _first_samples(samples, count)
    attributes = attribute_paths(records or rejected_records)
    for excluded in loaded.flow.destination.exclude:
        if excluded not in attributes:
            attributes.append(excluded)
    return {"samples": samples, "attributes": attributes, "warnings": warnings}


def _first_samples(samples: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """At most ``count`` samples, the skipped rows giving way to requests and rejections."""
    room = count - sum(1 for sample in samples if sample["kind"] != "filtered")
    kept = []
    for sample in samples:
        if sample["kind"] == "filtered":
            if room <= 0:
                continue
            room -= 1
        kept.append(sample)
    return kept[:count]


def is_destructive(loaded: LoadedFlow) -> bool:
    """Cancels bookings or deletes event types: the page asks before sending."""
    return calsink.is_destructive(loaded)


def credential_for(flow: Flow, store: CredentialStore) -> Credential:
    return resolve_api_key(flow.destination, store=store)


def sent_as(flow: Flow, credential: Credential, store: CredentialStore) -> dict[str, str]:
    """How the test send's child process finds its credential: a stored one by name (it
    reads the store itself, so it can renew an OAuth access token and store the new one,
    and no token crosses the pipe), or the key read from an environment variable."""
    if flow.destination.api_key_env:
        return {"api_key": credential.api_key}
    return {"credential": credential.name, "config_dir": str(store.directory)}


def credential_of(request: dict[str, Any]) -> str | calsink.Auth:
    """What the test send's child sends as (the request `sent_as` made)."""
    if "credential" not in request:
        return str(request["api_key"])
    store = CredentialStore(Path(str(request["config_dir"])))
    return calsink.auth_of(store.get(str(request["credential"])), store)


def check_key(api_key: str, base_url: str) -> str:
    """Ask Cal.com who ``api_key`` belongs to (GET /v2/me); CredentialError when it refuses.

    The standard library's client, in the server's worker thread: the page stores a key
    only after Cal.com has accepted it.
    """
    import json
    import urllib.error
    import urllib.request

    from calsink.credentials import CredentialError

    url = f"{base_url.rstrip('/')}/v2/me"
    request = urllib.request.Request(  # noqa: S310 - the caller allows http(s) only
        url, headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - http(s) only
            body = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        if exc.code in {401, 403}:
            raise CredentialError(
                f"Cal.com refused this API key ({exc.code}) at {url}: check that it was copied "
                "whole and that it belongs to this base URL (a sandbox key to the sandbox)"
            ) from None
        raise CredentialError(f"GET {url} answered {exc.code}; the key was not stored") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CredentialError(
            f"cannot reach {url} ({reason}) to check the key: check the base URL"
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise CredentialError(f"GET {url} did not answer as Cal.com does; check the base URL")
    who = data.get("username") or data.get("email") or data.get("id")
    return str(who)


def send_test(
    loaded: LoadedFlow,
    api_key: str | calsink.Auth,
    *,
    record_index: int,
    payload: Any | None,
    yes: bool,
    key: str | None = None,
) -> dict[str, Any]:
    """Send one request as `calsink test` does, and describe the response.

    The request goes to the flow's base URL — the one the samples show.  ``key`` is the
    record's ledger key (from its sample): the answer says whether a run will skip it.
    """
    result = calsink.test(loaded, record=record_index, payload=payload, api_key=api_key, yes=yes)
    return {
        "position": result.position,
        "method": result.method,
        "url": result.url,
        "request_headers": [list(pair) for pair in calsink.shown_headers(result.request_headers)],
        "request_body": result.request_body,
        "status": result.status,
        "ok": result.ok,
        "headers": result.headers,
        "body": result.body,
        "elapsed_s": round(result.elapsed_s, 3),
        "error": result.error or _refusal(api_key),
        "ledger_note": ledger_note(loaded, key) if result.ok else None,
    }


def _refusal(api_key: str | calsink.Auth) -> str | None:
    """Why Cal.com would not renew an OAuth access token, and what to do (no token in it)."""
    return None if isinstance(api_key, str) else api_key.refused()


def ledger_note(loaded: LoadedFlow, key: str | None) -> str | None:
    """What a run will do with a record a test send delivered, as the ledger says."""
    if not key:
        return None
    if calsink.is_delivered(loaded, key):
        return (
            "The ledger records this test delivery: Activate skips this record "
            "(calsink run --force would send it again)."
        )
    creates = creates_of(loaded)
    again = f" and makes a second {creates}" if creates else ""
    return (
        f"The ledger does not record this test send: Activate sends this record again{again}. "
        "Cancel or delete what the test made, or leave the record out of the source."
    )


def creates_of(loaded: LoadedFlow) -> str | None:
    """What the flow's endpoint makes in Cal.com (a booking, an event type...), if anything."""
    try:
        template = calsink.template(loaded.flow.destination.template or "")
    except ValueError:
        return None
    if template.creates is None:
        return None
    return CREATED_THINGS.get(template.creates, template.creates)


CREATED_THINGS = {"event-type": "event type", "ooo": "out-of-office entry"}


def check_inside(path: Path, base_dir: Path, *, allowed: Path | None = None) -> None:
    """Done and Activate keep to the folder `calsink ui` started in (or the file it was given)."""
    target = path.resolve()
    if allowed is not None and target == allowed.resolve():
        return
    if not target.is_relative_to(base_dir.resolve()):
        raise DraftError(
            [
                f"flow file: {path} is outside the folder calsink ui was started in "
                f"({base_dir}); give a file name inside it, such as book-demos.yaml"
            ]
        )


def other_flow_in(path: Path, name: str) -> str | None:
    """What ``path`` holds when it is not the flow ``name`` (Done asks before replacing it)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return "holds something that is not a flow file"
    found = data.get("name") if isinstance(data, dict) else None
    if not isinstance(found, str):
        return "holds something that is not a flow file"
    return None if found == name else f"holds the flow {found}"


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


def tail_jsonl(path: Path, limit: int = 50, window: int = 256 * 1024) -> list[Any]:
    """The last ``limit`` JSON lines of a file (dead letters, captured responses).

    Only the file's last ``window`` bytes are read: the page polls it while a run writes it.
    """
    import json

    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - window))
            data = handle.read()
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > window:
        lines = lines[1:]  # the first line was cut by the window
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
