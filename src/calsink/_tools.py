"""The library calls behind calsink's other commands and the page: the flow's schema, its
dead letters and ledger, Cal.com as a source, the webhook listener, the demo, key checks.

Like `calsink._api`, each call takes explicit arguments and owns nothing global; the
``calsink`` command and the page call these and nothing private.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsink._api import FlowLike
    from calsink.calcom.kinds import Query
    from calsink.credentials import Credential, CredentialStore
    from calsink.deadletters import DeadLetter, DeadLetterError
    from calsink.deliver.versions import VersionReport
    from calsink.http.auth import Auth
    from calsink.ledger_pg import CopyReport
    from calsink.listen import ListenerStats
    from calsink.starter import StarterFlow


def flow_schema() -> dict[str, Any]:
    """The JSON Schema of a flow file (what `calsink schema` prints)."""
    from calsink.flow import flow_json_schema

    return flow_json_schema()


def load_yaml(text: str) -> Any:
    """YAML text as Python values, read the way calsink reads flow files: with bounds on
    aliases and depth (`calsink.errors.YamlError` names the line of a problem)."""
    from calsink.safe_yaml import load as bounded

    return bounded(text)


def flow_name_pattern() -> str:
    """The regular expression a flow's ``name`` must match."""
    from calsink.flow import NAME_PATTERN

    return NAME_PATTERN


def is_destructive(flow: FlowLike) -> bool:
    """Whether the flow cancels or deletes in Cal.com (a run then needs ``yes=True``)."""
    from calsink._api import load
    from calsink.runner import is_destructive as destructive

    return destructive(load(flow))


def payload_of(flow: FlowLike, record: int | str | None = None) -> Any:
    """The body `calsink.test` would send for ``record`` (see `calsink.test`)."""
    from calsink._api import load
    from calsink.runner import choose_test_request

    request, _ = choose_test_request(load(flow), None, "", record)
    return request.payload


def source_format(flow: FlowLike) -> str | None:
    """The format of the flow's source file (csv, jsonl, json, parquet...), None when it
    reads no file."""
    from calsink._api import load
    from calsink.sources import EXTENSIONS

    loaded = load(flow)
    source = loaded.flow.source
    if source.path in (None, "", "-"):
        return None
    return source.format or EXTENSIONS.get(loaded.resolve(source.path).suffix.lower())


def count_records(flow: FlowLike, *, retry: bool = False) -> int:
    """How many records a run of the flow reads from its source (or a retry sends again),
    by reading them all."""
    from calsink._api import load
    from calsink.runner import retry_items
    from calsink.sources import open_source

    loaded = load(flow)
    if retry:
        return len(retry_items(loaded))
    return sum(1 for _ in open_source(loaded.flow.source, loaded.base_dir))


def is_delivered(flow: FlowLike, key: str) -> bool:
    """Whether the flow's ledger shows the record with delivery ``key`` delivered (a run
    skips it)."""
    from calsink._api import load
    from calsink.ledgers import ledger_exists, ledger_location, open_ledger

    loaded = load(flow)
    location = ledger_location(loaded)
    if not ledger_exists(location):
        return False
    with open_ledger(location) as ledger:
        entry = ledger.get(loaded.flow.name, key)
    return entry is not None and entry.state == "delivered"


def dead_letters_path(flow: FlowLike) -> Path:
    """Where the flow writes its dead letters (while a run goes, it writes them beside this
    file, ``.partial``, and puts them in place at the end)."""
    from calsink._api import load
    from calsink.deadletters import dead_letters_path as path_of

    return path_of(load(flow))


def dead_letters(
    path: str | os.PathLike[str],
    *,
    on_unreadable: Callable[[DeadLetterError], None] | None = None,
) -> Iterator[DeadLetter]:
    """Each dead letter of a dead-letter file, in the order written. A line that cannot be
    read (edited by hand) raises `DeadLetterError` naming it, or goes to ``on_unreadable``
    and is passed by."""
    from calsink.deadletters import read_dead_letters

    return read_dead_letters(Path(path), on_unreadable=on_unreadable)


def copy_ledger(source: str | os.PathLike[str], destination: str) -> CopyReport:
    """Copy the SQLite ledger file ``source`` into the PostgreSQL ledger ``destination``
    (``postgresql://...``); records it already holds are kept. `ValueError` when
    ``destination`` is not a PostgreSQL URL."""
    from calsink.ledger_pg import copy_ledger as copy
    from calsink.ledger_pg import is_postgresql

    if not is_postgresql(destination):
        raise ValueError(
            f"DESTINATION must be a postgresql:// URL (got {destination.split('://')[0]!r})"
        )
    return copy(Path(source), destination)


def calcom_query(kind: str, filters: Mapping[str, Any]) -> Query:
    """What to read from Cal.com: a KIND of `calsink source` and its filters, checked
    (`calsink.errors.FilterError` names a wrong one)."""
    from calsink.calcom.kinds import build_query

    return build_query(kind, filters)


def read_calcom(
    query: Query,
    *,
    api_key: str | Auth,
    base_url: str,
    on_record: Callable[[dict[str, Any]], None],
    limit: int | None = None,
) -> tuple[int, int]:
    """Read ``query`` from Cal.com, every page, handing each record to ``on_record``;
    returns how many records and how many requests."""
    from calsink._loops import blocking
    from calsink.calcom.client import CalcomReader
    from calsink.calcom.kinds import iter_query

    async def read() -> tuple[int, int]:
        count = 0
        async with CalcomReader(base_url, api_key) as reader:
            async for record in iter_query(reader, query):
                on_record(record)
                count += 1
                if limit is not None and count >= limit:
                    break
            return count, reader.requests_sent

    return blocking(read())


def check_key(
    api_key: str | Credential, base_url: str
) -> tuple[int, Any, VersionReport | None, str | None]:
    """Ask Cal.com who ``api_key`` (a key, or a stored credential: an OAuth one renews its
    access token) is (GET /v2/me): its status and answer, then, when the key works, which
    bookings versions the server answers; last, why an OAuth renewal was refused (or None)."""
    from calsink._loops import blocking
    from calsink.credentials import Credential, CredentialStore
    from calsink.deliver.versions import check_bookings_versions
    from calsink.http.auth import auth_of
    from calsink.http.transport import Transport

    auth = auth_of(api_key, CredentialStore()) if isinstance(api_key, Credential) else api_key

    async def check() -> tuple[int, Any, VersionReport | None, str | None]:
        async with Transport(auth, timeout_s=30) as transport:

            async def get(target: str, headers: Mapping[str, str]) -> tuple[int, Any]:
                answer = await transport.send("GET", target, headers=dict(headers))
                return answer.status, answer.parsed

            status, body = await get(f"{base_url}/v2/me", {"Accept": "application/json"})
            if status != 200:
                return status, body, None, transport.auth_refused
            return status, body, await check_bookings_versions(get, base_url), None

    return blocking(check())


def serve_listener(
    host: str,
    port: int,
    secret: str | None,
    output: Path | None,
    *,
    on_refused: Callable[[str, str], None] | None = None,
) -> ListenerStats:
    """Receive Cal.com webhook deliveries until interrupted, writing the verified ones as
    JSON Lines to ``output`` (stdout when None); returns the counts."""
    from calsink.listen import serve_listener as serve

    return serve(host, port, secret, output, on_refused=on_refused)


def init(
    template: str, path: str | os.PathLike[str] | None = None, *, force: bool = False
) -> StarterFlow:
    """``calsink init``: a commented starter flow for ``template``. Given a ``path``, the flow
    is written there with a one-record example data file beside it (kept if one is there);
    FileExistsError when the flow file exists and not ``force``, ValueError for an unknown
    template."""
    from calsink._api import template as described
    from calsink.starter import StarterFlow, starter_flow, write_starter

    endpoint = described(template)
    if path is None:
        return StarterFlow(starter_flow(endpoint, f"{endpoint.name}.jsonl"))
    return write_starter(endpoint, Path(path), force=force)


def serve_page(
    flow: str | os.PathLike[str] | None = None,
    *,
    port: int = 0,
    base_dir: str | os.PathLike[str] | None = None,
    store: CredentialStore | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """``calsink ui``: serve the page on 127.0.0.1 until interrupted (``port`` 0 picks a free
    one). ``on_ready`` gets the page's URL, which carries the token the page asks for.
    A relative ``flow`` is taken from ``base_dir`` (the current directory by default)."""
    from calsink.credentials import CredentialStore
    from calsink.ui.server import UiContext, serve

    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    flow_path = None if flow is None else folder / flow
    context = UiContext.open(flow_path, base_dir=folder, store=store or CredentialStore())
    serve(context, port=port, on_ready=on_ready)


def preload_transport() -> str:
    """Import the HTTP client ``CALSINK_TRANSPORT`` chooses (reqwest by default) and return
    its name; `calsink.errors.TransportChoiceError` when it names none that is installed."""
    from calsink.http.transport_choice import chosen_transport, preload

    name = chosen_transport()
    preload(name)
    return name


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (where a sandbox runs)."""
    from calsink.http.urls import is_loopback as loopback

    return loopback(host)


def hide_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets, Cal.com API keys and bearer tokens hidden."""
    from calsink.redact import redact_text

    return redact_text(text, secrets)


def shown_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Request headers as output may show them: Authorization and the like hidden."""
    from calsink.redact import preview_headers

    return preview_headers(headers)
