from __future__ import annotations

import sys

import click

from calsink.cli._output import EXIT_ABORTED, EXIT_USAGE, fail


@click.group()
def credentials() -> None:
    """Store, list, remove and test Cal.com API keys.

    Keys are read from a hidden prompt (or standard input when it is not a
    terminal), never echoed, and kept in a file only you can read.
    """


@credentials.command("add")
@click.argument("name")
@click.option("--base-url", default=None, help="The API this key belongs to (default Cal.com).")
def add(name: str, base_url: str | None) -> None:
    """Store an API key under NAME."""
    from calsink.credentials import CredentialError, CredentialStore

    if sys.stdin.isatty():
        api_key = click.prompt("Cal.com API key", hide_input=True, err=True)
    else:
        api_key = sys.stdin.readline().strip()
    try:
        stored = CredentialStore().add(name, api_key, base_url)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(f"stored credential {stored.name}", err=True)


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per credential.")
def list_(as_json: bool) -> None:
    """List the stored credentials (names only; keys are never shown)."""
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

            emit_json({"name": entry.name, "base_url": entry.base_url or "https://api.cal.com"})
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

    try:
        credential = CredentialStore().get(name)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)
    url = (base_url or credential.base_url or "https://api.cal.com").rstrip("/")
    try:
        status, body, versions = check_key(credential.api_key, url)
    except InsecureURLError as exc:
        fail(str(exc), EXIT_USAGE)
    except TransportError as exc:
        fail(f"could not reach {url}: {exc}", EXIT_ABORTED)
    if status == 200 and isinstance(body, dict) and isinstance(body.get("data"), dict):
        me = body["data"]
        click.echo(f"{name}: works — {me.get('username')} <{me.get('email')}> at {url}")
        assert versions is not None
        click.echo(f"{name}: {versions.summary()}")
        advice = versions.advice()
        if advice is not None:
            click.echo(f"warning: {advice}", err=True)
        return
    message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    fail(f"{name}: Cal.com answered {status}: {message or 'no message'}", EXIT_ABORTED)
