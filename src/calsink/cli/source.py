"""`calsink source` (read Cal.com as JSON Lines) and `calsink listen` (receive webhooks)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from calsink.cli._output import EXIT_ABORTED, EXIT_SOME_FAILED, EXIT_USAGE, fail, say

if TYPE_CHECKING:
    from calsink import Auth

KIND_NAMES = ("event-types", "bookings", "slots", "schedules", "webhooks", "ooo", "me")
DEFAULT_BASE_URL = "https://api.cal.com"

# option name -> filter name (each kind checks whether it has that filter)
_FILTER_OPTIONS = (
    ("status", "status", "bookings: upcoming, recurring, past, cancelled, unconfirmed (a list)"),
    ("booking_status", "booking_status", "bookings: pending, accepted, cancelled, rejected"),
    ("attendee_email", "attendee_email", "bookings: an attendee's e-mail"),
    ("after", "after_start", "bookings: starting at or after (date or date-time)"),
    ("before", "before_end", "bookings: ending at or before (date or date-time)"),
    ("event_type_id", "event_type_id", "bookings, slots: the event type id"),
    ("start", "start", "slots: first day or instant"),
    ("end", "end", "slots: last day or instant"),
    ("time_zone", "time_zone", "slots: IANA time zone of the answer"),
    ("duration", "duration", "slots: minutes (multi-duration event types)"),
)


def _filter_options(command: Any) -> Any:
    for option, _, text in reversed(_FILTER_OPTIONS):
        command = click.option(f"--{option.replace('_', '-')}", option, default=None, help=text)(
            command
        )
    return command


DEFAULT_KEY_ENV = "CAL_API_KEY"


def _resolve_key(credential: str | None, api_key_env: str | None) -> tuple[str | Auth, str | None]:
    """(api key or OAuth access, the credential's base URL) from --api-key-env or
    --credential; with neither, from $CAL_API_KEY when it is set, else the stored
    credential 'default'."""
    from calsink.credentials import CredentialError, CredentialStore, check_api_key_shape

    if credential and api_key_env:
        fail("give at most one of --credential and --api-key-env", EXIT_USAGE)
    if not credential and not api_key_env and os.environ.get(DEFAULT_KEY_ENV, "").strip():
        api_key_env = DEFAULT_KEY_ENV  # as a flow's `api_key_env: CAL_API_KEY` reads it
    if api_key_env:
        value = os.environ.get(api_key_env, "").strip()
        if not value:
            fail(f"--api-key-env names ${api_key_env}, which is not set; export it", EXIT_USAGE)
        try:
            check_api_key_shape(value)
        except CredentialError as exc:
            fail(f"${api_key_env}: {exc}", EXIT_USAGE)
        return value, None
    try:
        stored = CredentialStore().get(credential or "default")
    except CredentialError as exc:
        fail(f"{exc}, or export {DEFAULT_KEY_ENV}, or pass --api-key-env NAME", EXIT_USAGE)
    from calsink import auth_of

    return auth_of(stored), stored.base_url


@click.command()
@click.argument("kind", type=click.Choice(KIND_NAMES), metavar="KIND")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any filter of the kind (snake_case or Cal.com's camelCase); repeatable.",
)
@_filter_options
@click.option(
    "--credential",
    default=None,
    help="A stored credential (default: $CAL_API_KEY when it is set, else 'default').",
)
@click.option("--api-key-env", default=None, help="The environment variable holding the key.")
@click.option("--base-url", default=None, help="The API address (e.g. the sandbox's).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after N records.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON Lines here instead of stdout.",
)
def source(
    kind: str,
    filters: tuple[str, ...],
    credential: str | None,
    api_key_env: str | None,
    base_url: str | None,
    limit: int | None,
    output: Path | None,
    **options: str | None,
) -> None:
    """Read KIND from Cal.com and write one JSON object per line.

    KIND is event-types, bookings (every page), slots (one line per free slot),
    schedules, webhooks, ooo (out-of-office entries) or me. The same kinds and
    filters make a flow's source: `source: {calcom: bookings, filters: {...}}`.

    \b
    Examples:
      calsink source bookings --attendee-email ana@example.com --status upcoming
      calsink source bookings --booking-status pending --event-type-id 2
      calsink source slots --event-type-id 1 --start 2030-01-07 --end 2030-01-08
    """
    from calsink import calcom_query
    from calsink.errors import FilterError

    chosen: dict[str, Any] = {}
    for text in filters:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            fail(f"--filter expects NAME=VALUE, found {text!r}", EXIT_USAGE)
        chosen[name.strip()] = value.strip()
    for option, filter_name, _ in _FILTER_OPTIONS:
        if options.get(option) is not None:
            chosen[filter_name] = options[option]
    try:
        query = calcom_query(kind, chosen)
    except FilterError as exc:
        fail(str(exc), EXIT_USAGE)
    api_key, stored_url = _resolve_key(credential, api_key_env)
    chosen_url: str = base_url or stored_url or DEFAULT_BASE_URL
    url = chosen_url.rstrip("/")
    stream: IO[bytes] = sys.stdout.buffer
    if output is not None:
        try:
            stream = output.open("wb")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE)
    try:
        count, requests = _read(url, api_key, query, stream, limit)
    finally:
        if output is not None:
            stream.close()
    where = f" into {output}" if output is not None else ""
    say(f"read {count} {kind} record(s) from {url}{where} ({requests} request(s))")


def _read(
    url: str, api_key: str | Auth, query: Any, stream: IO[bytes], limit: int | None
) -> tuple[int, int]:
    import orjson

    from calsink import read_calcom
    from calsink.errors import CalcomReadError, InsecureURLError

    def write(record: dict[str, Any]) -> None:
        stream.write(orjson.dumps(record) + b"\n")

    try:
        read = read_calcom(query, api_key=api_key, base_url=url, on_record=write, limit=limit)
        stream.flush()
        return read
    except InsecureURLError as exc:
        fail(f"--base-url: {exc}", EXIT_USAGE)
    except CalcomReadError as exc:
        fail(str(exc), EXIT_ABORTED if exc.auth_failed else EXIT_SOME_FAILED)
    except BrokenPipeError:
        raise SystemExit(0) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="Port (0 picks a free one).",
)
@click.option(
    "--secret-env",
    default=None,
    metavar="NAME",
    help="Environment variable holding the webhook secret used to verify signatures.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append accepted deliveries here as JSON Lines (default stdout).",
)
def listen(host: str, port: int, secret_env: str | None, output: Path | None) -> None:
    """Receive Cal.com webhook deliveries and write the verified ones as JSON Lines.

    Every POST must carry X-Cal-Signature-256, the HMAC-SHA256 of the raw body
    keyed by the webhook's secret; a missing or wrong signature is answered 401
    and not written. Point a webhook at the printed URL, e.g. with a
    create-webhook flow whose record has `subscriberUrl` and `secret`.
    Stop with Ctrl-C.
    """
    from calsink import serve_listener

    secret: str | None = None
    if secret_env:
        secret = os.environ.get(secret_env) or None
        if secret is None:
            fail(
                f"--secret-env names ${secret_env}, which is not set; export the secret", EXIT_USAGE
            )
    else:
        say(
            "WARNING: no --secret-env given: this listener cannot verify signatures and accepts "
            "only unsigned deliveries (X-Cal-Signature-256: no-secret-provided), which anyone "
            "can forge. Give the webhook a secret and pass --secret-env NAME.",
            style="bold yellow",
        )

    def refused(path: str, why: str) -> None:
        say(f"refused POST {path} (401): {why}", style="red")

    try:
        stats = serve_listener(host, port, secret, output, on_refused=refused)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    say(f"stopped: {stats.accepted} delivery(ies) accepted, {stats.refused} refused")
