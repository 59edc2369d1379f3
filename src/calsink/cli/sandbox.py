"""`calsink sandbox`: serve the local Cal.com API v2 emulator."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5555, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="An accepted API key (repeatable). Without one a cal_test_ key is generated and printed.",
)
@click.option(
    "--user-key",
    "user_keys",
    multiple=True,
    metavar="USERNAME=KEY",
    help="An accepted API key of another user (repeatable; a username the sandbox lacks is "
    "made on first use), for flows that send with many accounts.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the sandbox's records in this file across restarts.",
)
@click.option(
    "--empty", is_flag=True, help="Start without the demo account's schedules and event types."
)
@click.option(
    "--rate-limit",
    default=120,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests per API key per 60 s window.",
)
@click.option("--faults", "faults", help='Fault rules, e.g. "503@0.3,latency=200ms@1,seed=7".')
@click.option(
    "--admin", is_flag=True, help="Serve the /_sandbox/ admin routes (request log, faults, state)."
)
@click.option(
    "--api-versions",
    "api_versions",
    metavar="LIST",
    help="The cal-api-version values the sandbox knows, comma-separated (default: all of "
    "Cal.com's). Leave 2026-02-25 out to act like an older Cal.com you host yourself, which "
    "answers an unknown version with its 2024-04-15 contract.",
)
@click.option(
    "--oauth",
    "oauth",
    is_flag=True,
    help="Create an OAuth client and print its tokens as one JSON line, ready for "
    "`calsink credentials add NAME --oauth`.",
)
@click.option(
    "--token-lifetime",
    default=1800.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Seconds an OAuth access token works (Cal.com: 1800).",
)
@click.option(
    "--token-rate-limit",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests per OAuth access token per 60 s window (Cal.com: 500).",
)
def sandbox(
    host: str,
    port: int,
    api_keys: tuple[str, ...],
    user_keys: tuple[str, ...],
    state_path: Path | None,
    empty: bool,
    rate_limit: int,
    faults: str | None,
    admin: bool,
    api_versions: str | None,
    oauth: bool,
    token_lifetime: float,
    token_rate_limit: int,
) -> None:
    """Serve the local Cal.com API v2 emulator until interrupted."""
    from calsink.sandbox import (
        FaultSpecError,
        SandboxApp,
        SandboxConfig,
        StateFileError,
        bind,
        generate_api_key,
        serve,
    )

    keys = list(api_keys)
    generated = not keys
    if generated:
        keys = [generate_api_key()]
    versions = _versions(api_versions)
    config = SandboxConfig(
        api_keys=keys,
        user_keys=_user_keys(user_keys),
        state_path=state_path,
        empty=empty,
        rate_limit=rate_limit,
        faults=faults,
        admin=admin,
        api_versions=versions,
        token_lifetime_s=token_lifetime,
        token_rate_limit=token_rate_limit,
    )
    try:
        app = SandboxApp(config)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from exc
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the state file {state_path}: {exc.strerror or exc}"
        ) from exc
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    actual_port = sock.getsockname()[1]
    grant = app.oauth.grant() if oauth else None

    def ready() -> None:
        if generated:
            click.echo(f"calsink sandbox api key: {keys[0]}")
        if grant is not None:
            click.echo(f"calsink sandbox oauth credential: {json.dumps(grant)}")
        click.echo(f"calsink sandbox listening on http://{host}:{actual_port}", color=False)

    serve(app, sock, on_ready=ready)


def _user_keys(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--user-key USERNAME=KEY`` values as key → username."""
    found: dict[str, str] = {}
    for pair in pairs:
        username, _, key = pair.partition("=")
        if not username.strip() or not key.strip():
            raise click.BadParameter("expected USERNAME=KEY", param_hint="--user-key")
        found[key.strip()] = username.strip()
    return found


def _versions(text: str | None) -> frozenset[str]:
    from calsink.sandbox import KNOWN_VERSIONS

    if text is None:
        return KNOWN_VERSIONS
    chosen = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(chosen - KNOWN_VERSIONS)
    if unknown or not chosen:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing'} is not a Cal.com API version; choose among "
            f"{', '.join(sorted(KNOWN_VERSIONS))}",
            param_hint="--api-versions",
        )
    return chosen
