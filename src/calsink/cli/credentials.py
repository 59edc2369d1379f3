from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from calsink.cli._output import EXIT_ABORTED, EXIT_USAGE, fail

if TYPE_CHECKING:
    from calsink.credentials import OAuthGrant


@click.group()
def credentials() -> None:
    """Store, list, remove and test Cal.com API keys and OAuth tokens.

    Keys and tokens are read from hidden prompts (or standard input when it is not a
    terminal), never echoed, and kept in a file only you can read.
    """


@credentials.command("add")
@click.argument("name")
@click.option("--base-url", default=None, help="The API this key belongs to (default Cal.com).")
@click.option(
    "--oauth",
    is_flag=True,
    help="Store an OAuth access token with its refresh token, client id and client secret "
    "(prompted, or one JSON object on standard input: access_token, refresh_token, "
    "client_id, client_secret, and expires_in seconds if known).",
)
def add(name: str, base_url: str | None, oauth: bool) -> None:
    """Store an API key (or, with --oauth, OAuth tokens) under NAME."""
    from calsink.credentials import Credential, CredentialError, CredentialStore

    try:
        stored: Credential
        if oauth:
            stored = CredentialStore().add_oauth(name, _read_grant(), base_url)
        else:
            stored = CredentialStore().add(name, _read_key(), base_url)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(f"stored credential {stored}", err=True)


def _read_key() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Cal.com API key", hide_input=True, err=True))
    return sys.stdin.readline().strip()


def _read_grant() -> OAuthGrant:
    """The OAuth tokens from hidden prompts, or a JSON object on standard input."""
    import json
    import time

    from calsink.credentials import OAUTH_FIELDS, CredentialError, OAuthGrant

    if sys.stdin.isatty():
        values: dict[str, Any] = {
            part: click.prompt(f"OAuth {part.replace('_', ' ')}", hide_input=True, err=True)
            for part in OAUTH_FIELDS
        }
        lifetime = click.prompt(
            "Seconds until the access token expires (empty if unknown)",
            default="",
            show_default=False,
            err=True,
        )
        values["expires_in"] = float(lifetime) if lifetime.strip() else None
    else:
        try:
            values = json.loads(sys.stdin.read())
        except json.JSONDecodeError:
            raise CredentialError(
                "standard input is not a JSON object: send "
                '{"access_token": …, "refresh_token": …, "client_id": …, "client_secret": …, '
                '"expires_in": seconds}'
            ) from None
        if not isinstance(values, dict):
            raise CredentialError("standard input must hold one JSON object of OAuth tokens")
    parts = {part: values.get(part) for part in OAUTH_FIELDS}
    for part, value in parts.items():
        if not isinstance(value, str):
            raise CredentialError(f"the OAuth {part} is missing (expected a string)")
    expires_in = values.get("expires_in")
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int | float)
    ):
        raise CredentialError("expires_in must be a number of seconds")
    expires_at = time.time() + float(expires_in) if expires_in is not None else None
    return OAuthGrant(**{k: str(v).strip() for k, v in parts.items()}, expires_at=expires_at)


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per credential.")
def list_(as_json: bool) -> None:
    """List the stored credentials and their kind (never a key or token)."""
    from calsink.credentials import CredentialError, CredentialStore

    store = CredentialStore()
    try:
        names = store.names()
        entries = [store.get(name) for name in names]
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    for entry in entries:
        if as_json:
            from calsink.cli._output import emit_json

            emit_json(
                {
                    "name": entry.name,
                    "base_url": entry.base_url or "https://api.cal.com",
                    "kind": entry.kind,
                }
            )
        else:
            click.echo(str(entry))
    if not entries and not as_json:
        click.echo("no credentials stored; add one with `calsink credentials add NAME`", err=True)


@credentials.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Forget the credential NAME."""
    from calsink.credentials import CredentialError, CredentialStore

    try:
        removed = CredentialStore().remove(name)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    if not removed:
        fail(f"no stored credential named {name!r}", EXIT_USAGE)
    click.echo(f"removed credential {name}", err=True)


@credentials.command("test")
@click.argument("name")
@click.option("--base-url", default=None, help="Override the credential's API address.")
def test(name: str, base_url: str | None) -> None:
    """Say whose key NAME is and which cal-api-version values it answers.

    It calls GET /v2/me, then asks bookings for each version.

    Names what to set when the server does not know bookings version 2026-02-25.
    """
    from calsink import check_key
    from calsink.credentials import CredentialError, CredentialStore
    from calsink.errors import InsecureURLError, TransportError

    store = CredentialStore()
    try:
        credential = store.get(name)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    url = (base_url or credential.base_url or "https://api.cal.com").rstrip("/")
    kind = "OAuth" if credential.oauth is not None else "API key"
    try:
        status, body, versions, refused = check_key(credential, url)
    except InsecureURLError as exc:
        fail(str(exc), EXIT_USAGE)
    except TransportError as exc:
        fail(f"could not reach {url}: {exc}", EXIT_ABORTED)
    if status == 200 and isinstance(body, dict) and isinstance(body.get("data"), dict):
        me = body["data"]
        click.echo(f"{name}: works — {me.get('username')} <{me.get('email')}> at {url} ({kind})")
        assert versions is not None
        click.echo(f"{name}: {versions.summary()}")
        advice = versions.advice()
        if advice is not None:
            click.echo(f"warning: {advice}", err=True)
        return
    if refused is not None:
        fail(f"{name}: {refused}", EXIT_ABORTED)
    message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    fail(f"{name}: Cal.com answered {status}: {message or 'no message'}", EXIT_ABORTED)
