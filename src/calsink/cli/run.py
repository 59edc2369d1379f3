"""`calsink run`, `test`, `status` and `retry`: thin wrappers over `calsink.run`, `calsink.test`,
`calsink.status` and `calsink.retry`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from calsink.cli._output import (
    EXIT_ABORTED,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    command_hint,
    console,
    emit_json,
    empty_source_note,
    fail,
    flow_errors,
    told,
)

if TYPE_CHECKING:
    from calsink import Auth, LoadedFlow, RunReport, StatusReport
    from calsink.credentials import Credential

    Credentials = tuple[Credential | None, dict[str, Credential] | None]

OUTCOME_STYLES = {
    "delivered": "green",
    "skipped": "cyan",
    "rejected": "yellow",
    "failed": "red",
    "dead": "bold red",
}

flow_argument = click.argument("flow", type=click.Path(dir_okay=False, path_type=str))
base_url_option = click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Send to this API address instead of destination.base_url (e.g. a sandbox).",
)
yes_option = click.option(
    "--yes", is_flag=True, help="Allow a destructive template (cancel, delete) without asking."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def _load(path: str) -> LoadedFlow:
    import calsink

    with flow_errors():
        return calsink.load(Path(path))


def _credential(loaded: LoadedFlow) -> Credential:
    from calsink.credentials import CredentialError, resolve_api_key

    try:
        return resolve_api_key(loaded.flow.destination)
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)


def _credentials(loaded: LoadedFlow, dry_run: bool = False) -> Credentials:
    """The flow's credential, or every stored one when its records choose theirs."""
    from calsink.credentials import CredentialError, CredentialStore

    if not loaded.flow.destination.credential_per_record:
        return (None if dry_run else _credential(loaded)), None
    try:
        return None, CredentialStore().all()
    except CredentialError as exc:
        fail(str(exc), EXIT_USAGE)


def _auth(credential: Credential) -> str | Auth:
    """The API key, or the OAuth access token that renews itself and is stored again."""
    from calsink import auth_of

    return auth_of(credential)


@contextmanager
def _run_errors() -> Iterator[None]:
    from calsink.errors import InsecureURLError, RunError

    with flow_errors():
        try:
            yield
        except RunError as exc:
            fail(told(exc), exc.exit_code)
        except InsecureURLError as exc:
            fail(str(exc), EXIT_USAGE)


def _base_url(option: str | None, credential: Credential | None) -> str | None:
    if option:
        return option
    return credential.base_url if credential is not None else None


def _print_report(report: RunReport, *, title: str) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("outcome")
    table.add_column("records", justify="right")
    summary = report.summary
    for name, style in OUTCOME_STYLES.items():
        table.add_row(
            name, str(getattr(summary, name)), style=style if getattr(summary, name) else None
        )
    if report.dry_run:
        table.add_row("would send", str(summary.planned), style="green")
    table.add_row("read", str(summary.read), style="bold")
    out.print(table)
    if report.accounts:
        _print_accounts(report)
    details = [f"in {report.duration_s:.2f} s"]
    if report.dry_run:
        details.append(f"dry run: {report.planned} request(s) would be sent")
    if report.throttled:
        details.append(f"throttled {report.throttled} time(s)")
    out.print(", ".join(details))
    if report.responses_path:
        out.print(f"responses: {report.responses_path}")
    if report.dead_letters:
        out.print(f"dead letters: {report.dead_letters_path} ({report.dead_letters})")
    if report.webhook_undelivered:
        out.print(
            f"response webhook: {report.webhook_undelivered} response(s) not delivered, "
            f"kept in {report.webhook_undelivered_path}",
            style="yellow",
        )
    if report.unfinished:
        out.print(f"{report.unfinished} record(s) left for the next run")
    if report.ledger_pending:
        out.print(f"ledger: {report.ledger_pending}", style="yellow")
    if report.refused:
        out.print(report.refused, style="yellow")
    if report.aborted:
        detail = f": {report.abort_detail}" if report.abort_detail else ""
        out.print(f"aborted — {report.aborted}{detail}", style="bold red")


def _print_status_accounts(report: StatusReport) -> None:
    """A flow with more than one account: each credential's records in the ledger."""
    accounts = report.account_outcomes()
    if len(accounts) < 2:
        return
    out = console()
    out.print("  per account")
    for name, counts in accounts.items():
        shown = " · ".join(f"{state} {count}" for state, count in counts.items() if count)
        out.print(f"    {name:<10} {shown}")


def _print_accounts(report: RunReport) -> None:
    """Each credential's records (by its name; never its key), and the keys refused."""
    from rich.table import Table

    out = console()
    table = Table(title="per account", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("credential")
    # a record rejected before it was sent is not any account's: it counts above only
    names = [name for name in OUTCOME_STYLES if name != "rejected"]
    names += ["would send"] if report.dry_run else []
    for name in names:
        table.add_column(name, justify="right")
    for account, counts in sorted(report.accounts.items()):
        values = [
            counts.planned if name == "would send" else getattr(counts, name) for name in names
        ]
        refused = account in (*report.refused_accounts, *report.forbidden_accounts)
        table.add_row(account, *map(str, values), style="red" if refused else None)
    out.print(table)
    for account in report.refused_accounts:
        out.print(
            f"credential {account}: Cal.com refused its API key (401); its records failed, "
            f"the others went on — check it with `calsink credentials test {account}`, or "
            f"store its new key with `calsink credentials add {account}`",
            style="bold red",
        )
    for account in report.forbidden_accounts:
        out.print(
            f"credential {account}: Cal.com refused its key's requests (403): the key lacks "
            f"the permission this flow needs; its records failed, the others went on — check "
            f"it with `calsink credentials test {account}`, or store a key with that "
            f"permission with `calsink credentials add {account}`",
            style="bold red",
        )


def _finish(
    report: RunReport,
    as_json: bool,
    title: str,
    show_all: bool = False,
    loaded: LoadedFlow | None = None,
) -> None:
    from calsink.cli._groups import print_run_reasons

    for note in report.not_resent:
        click.echo(note, err=True)
    empty = empty_source_note(loaded) if loaded and report.summary.read == 0 else None
    if empty and not report.aborted:
        click.echo(empty, err=True)
    if as_json:
        emit_json(report.to_json())
    else:
        print_run_reasons(report.dead_letters_path, report.flow, report.run_id, show_all=show_all)
        _print_report(report, title=title)
    raise SystemExit(report.exit_code)


all_option = click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="List each record that did not get through instead of one line per reason.",
)


def _confirm_destructive(loaded: LoadedFlow, yes: bool) -> bool:
    from calsink import is_destructive

    if yes or loaded.flow.delivery.allow_destructive or not is_destructive(loaded):
        return yes
    if not sys.stdin.isatty():
        fail(
            f"flow {loaded.flow.name} cancels or deletes in Cal.com: pass --yes, or set "
            "delivery.allow_destructive: true",
            EXIT_ABORTED,
        )
    cap = loaded.flow.delivery.max_destructive
    if not click.confirm(
        f"Flow {loaded.flow.name} cancels or deletes in Cal.com (at most {cap} per run). Go on?",
        err=True,
    ):
        fail("nothing sent", EXIT_ABORTED)
    return True


@click.command()
@flow_argument
@click.option("--follow", is_flag=True, help="Keep reading a growing file or stdin.")
@click.option("--dry-run", is_flag=True, help="Read, render and check everything; send nothing.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Read at most N records.")
@click.option(
    "--force",
    is_flag=True,
    help="Send again records the ledger shows delivered; a re-send that fails is counted in "
    "this run, but the record stays delivered in the ledger with its uid.",
)
@yes_option
@base_url_option
@json_option
@all_option
def run(
    flow: str,
    follow: bool,
    dry_run: bool,
    limit: int | None,
    force: bool,
    yes: bool,
    base_url: str | None,
    as_json: bool,
    show_all: bool,
) -> None:
    """Send every record of FLOW, with a progress bar and a summary."""
    import calsink

    loaded = _load(flow)
    credential, credentials = _credentials(loaded, dry_run)
    if not dry_run:
        yes = _confirm_destructive(loaded, yes)
    from calsink.cli._progress import count_in_background, live_progress

    show_progress = not as_json and sys.stderr.isatty()
    total = count_in_background(loaded, limit, follow) if show_progress else None
    with _run_errors(), live_progress(show_progress, total) as on_progress:
        report = calsink.run(
            loaded,
            api_key=_auth(credential) if credential else "",
            base_url=_base_url(base_url, credential),
            dry_run=dry_run,
            limit=limit,
            force=force,
            yes=yes or dry_run,
            follow=follow,
            on_progress=on_progress,
            credentials=credentials,
        )
    title = f"{loaded.flow.name}{' (dry run)' if dry_run else ''}"
    _finish(report, as_json, title=title, show_all=show_all, loaded=loaded)


@click.command()
@flow_argument
@click.option(
    "--only",
    type=click.Choice(["failed", "dead"]),
    default=None,
    help="Only records that failed (Cal.com refused) or died (retries exhausted).",
)
@yes_option
@base_url_option
@json_option
@all_option
def retry(
    flow: str,
    only: Literal["failed", "dead"] | None,
    yes: bool,
    base_url: str | None,
    as_json: bool,
    show_all: bool,
) -> None:
    """Send again the records of FLOW that did not get through."""
    import calsink

    loaded = _load(flow)
    credential, credentials = _credentials(loaded)
    yes = _confirm_destructive(loaded, yes)
    from calsink.cli._progress import live_progress

    show_progress = not as_json and sys.stderr.isatty()
    with _run_errors(), live_progress(show_progress, None) as on_progress:
        report = calsink.retry(
            loaded,
            api_key=_auth(credential) if credential else "",
            only=only,
            base_url=_base_url(base_url, credential),
            yes=yes,
            on_progress=on_progress,
            credentials=credentials,
        )
    _finish(report, as_json, title=f"{loaded.flow.name} (retry)", show_all=show_all)


@click.command()
@flow_argument
@json_option
def status(flow: str, as_json: bool) -> None:
    """What the ledger knows about FLOW: counts per outcome, last run, dead letters."""
    from datetime import UTC, datetime

    import calsink

    loaded = _load(flow)
    with _run_errors():
        report = calsink.status(loaded)
    if as_json:
        emit_json(report.to_json())
        return
    out = console()
    never = isinstance(report.ledger_path, Path) and not report.ledger_path.exists()
    if never or (not report.counts and report.last_run_started is None):
        out.print(f"{report.flow}: never run (no ledger at {report.ledger_path})")
        return
    counts = report.to_json()
    out.print(f"flow {report.flow} — ledger {report.ledger_path}")
    for name in ("delivered", "skipped", "rejected", "failed", "dead", "in_flight"):
        if counts.get(name):
            out.print(f"  {name:<10} {counts[name]}", style=OUTCOME_STYLES.get(name))
    out.print(f"  {'read':<10} {counts['read']}")
    _print_status_accounts(report)
    if report.last_run_started:
        started = datetime.fromtimestamp(report.last_run_started, UTC).isoformat(timespec="seconds")
        summary = report.last_run_summary or {}
        line = ", ".join(
            f"{k} {v}" for k, v in summary.items() if k not in ("read", "skipped_delivered") and v
        )
        out.print(
            f"  last {report.last_run_kind or 'run'} {started}: read {summary.get('read', 0)}"
            + (f" ({line})" if line else "")
        )
        if report.last_run_aborted:
            out.print(f"  aborted: {report.last_run_aborted}", style="red")
    if report.running:
        out.print("  a run of this flow is in progress now")
    if report.dead_letters:
        runs = ", ".join(f"run {run}: {count}" for run, count in report.dead_letters_by_run.items())
        out.print(
            f"  dead letters: {report.dead_letters} waiting in {report.dead_letters_path} "
            f"({runs}; `{command_hint()} retry {flow}` sends them again)"
        )


@click.command()
@flow_argument
@click.option(
    "--record",
    "record_choice",
    default=None,
    metavar="N|POSITION",
    help="Which record to send: its number (from 0) or its position as printed "
    "(leads.csv:13); default: the first record that renders valid.",
)
@click.option(
    "--payload",
    type=click.File("r"),
    default=None,
    help="Send this JSON body instead of the record's (a file, or - for stdin).",
)
@click.option("--edit", is_flag=True, help="Edit the rendered body in $EDITOR before sending.")
@click.option(
    "--no-record",
    is_flag=True,
    help="Leave the ledger alone (a throw-away test, against a sandbox say); by default a "
    "success is recorded as the record's delivery, so the next run skips it.",
)
@yes_option
@base_url_option
@json_option
def test(
    flow: str,
    record_choice: str | None,
    payload: Any,
    edit: bool,
    no_record: bool,
    yes: bool,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Send one request of FLOW (Send Test Data) and show the response.

    A success is recorded in the ledger under the record's key (marked as a test), so
    the next run skips that record; --no-record leaves the ledger alone."""
    import json

    import calsink

    loaded = _load(flow)
    credential, _ = _credentials(loaded)
    record_index = _record_choice(record_choice)
    body: Any | None = None
    if payload is not None:
        try:
            body = json.load(payload)
        except json.JSONDecodeError as exc:
            fail(f"--payload is not valid JSON: {exc}", EXIT_USAGE)
    if edit:
        body = _edit_payload(loaded, record_index, body)
    yes = _confirm_destructive(loaded, yes)
    with _run_errors():
        result = calsink.test(
            loaded,
            record=record_index,
            payload=body,
            api_key=_auth(credential) if credential else "",
            base_url=_base_url(base_url, credential),
            yes=yes,
            remember=not no_record,
        )
    if as_json:
        emit_json(
            {
                "position": result.position,
                "passed_over": result.passed_over,
                "method": result.method,
                "url": result.url,
                "request_body": result.request_body,
                "status": result.status,
                "headers": result.headers,
                "body": result.body,
                "elapsed_s": round(result.elapsed_s, 3),
                "error": result.error,
            }
        )
    else:
        out = console()
        which = f"record {result.position}"
        if result.passed_over:
            which += (
                f", the first that renders valid: {result.passed_over} before it cannot be "
                "sent (see calsink validate)"
            )
        out.print(f"{result.method} {result.url}  ({which})")
        if result.error and result.status is None:
            out.print(f"no answer: {result.error}", style="bold red")
        else:
            style = "green" if result.ok else "red"
            out.print(f"HTTP {result.status} in {result.elapsed_s * 1000:.0f} ms", style=style)
            for name in ("x-request-id", "x-ratelimit-remaining-default"):
                if name in result.headers:
                    out.print(f"{name}: {result.headers[name]}")
            out.print_json(data=result.body) if not isinstance(result.body, str) else out.print(
                result.body
            )
            if result.error:
                out.print(result.error, style="bold red")
    raise SystemExit(0 if result.ok else (EXIT_ABORTED if result.error else EXIT_SOME_FAILED))


def _record_choice(text: str | None) -> int | str | None:
    """``--record``: a number from 0, or a position as printed (``leads.csv:13``)."""
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    if ":" not in text and "[" not in text:
        fail(
            f"--record {text!r}: give a number (from 0) or a position as printed, "
            "e.g. leads.csv:13 or leads.json[4]",
            EXIT_USAGE,
        )
    return text


def _edit_payload(loaded: LoadedFlow, record_index: int | str | None, body: Any | None) -> Any:
    import json

    if body is None:
        with _run_errors():
            body = _rendered_payload(loaded, record_index)
    edited = click.edit(json.dumps(body, indent=2, ensure_ascii=False), extension=".json")
    if edited is None:
        return body
    try:
        return json.loads(edited)
    except json.JSONDecodeError as exc:
        fail(f"the edited payload is not valid JSON: {exc}", EXIT_USAGE)


def _rendered_payload(loaded: LoadedFlow, record_index: int | str | None) -> Any:
    """The body `calsink test` would send for ``record_index``, to start an edit from."""
    from calsink import payload_of

    return payload_of(loaded, record_index)
