"""`calsink demo`: the example flows against a built-in sandbox."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsink.cli._output import (
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    command_hint,
    console,
    emit_json,
    fail,
)

if TYPE_CHECKING:
    from calsink import DemoStep


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("calsink-demo"),
    show_default=True,
    help="Where the examples are copied and the ledger, responses and dead letters go.",
)
@click.option(
    "--sandbox-url",
    default=None,
    metavar="URL",
    help="Use a sandbox that is already running (loopback only) instead of starting one.",
)
@click.option(
    "--api-key-env",
    default=None,
    metavar="NAME",
    help="With --sandbox-url: the environment variable holding that sandbox's key.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Keep the built-in sandbox serving after the flows, until Ctrl-C.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON summary per flow on stdout.")
def demo(
    directory: Path,
    sandbox_url: str | None,
    api_key_env: str | None,
    keep_running: bool,
    as_json: bool,
) -> None:
    """Run the example flows against a local Cal.com sandbox: no account needed.

    Starts the sandbox on a free port, books demos from a CSV, reschedules,
    confirms, cancels and declines bookings, creates, updates and deletes event
    types, creates schedules, webhooks and out-of-office entries — then prints
    each run's summary and where its responses went, and stops the sandbox.
    """
    from calsink import run_demo
    from calsink.sandbox import SandboxConfig, create_app, generate_api_key, start_in_thread

    out = console()
    running = None
    if sandbox_url:
        from urllib.parse import urlsplit

        from calsink import is_loopback

        if not is_loopback(urlsplit(sandbox_url).hostname or ""):
            fail("--sandbox-url must be a sandbox on this machine (127.0.0.1 or localhost)")
        api_key = os.environ.get(api_key_env or "", "")
        if not api_key:
            fail("--sandbox-url needs --api-key-env naming a variable that holds its key")
        base_url = sandbox_url.rstrip("/")
    else:
        api_key = generate_api_key()
        running = start_in_thread(create_app(SandboxConfig(api_keys=[api_key])))
        base_url = running.url
        out.print(f"sandbox listening on {base_url} (a local Cal.com API v2 emulator)")

    if not as_json:
        out.print(LEGEND)

    def started(flow_file: str, purpose: str) -> None:
        if not as_json:
            out.print(f"\n[bold]{flow_file}[/bold] — {purpose}", markup=True)

    def finished(step: DemoStep) -> None:
        report = step.report
        if as_json:
            emit_json({"flow_file": step.flow_file, **report.to_json()})
            return
        summary = report.summary
        counts = " · ".join(
            f"{name} {getattr(summary, name)}"
            for name in ("delivered", "skipped", "rejected", "failed", "dead")
            if getattr(summary, name) or name == "delivered"
        )
        style = "green" if report.exit_code == 0 else "red"
        out.print(f"  {report.flow}: read {summary.read} · {counts}", style=style)
        for line in explain_counts(step, directory):
            out.print(f"    {line}")
        if report.responses_path:
            out.print(f"  responses → {report.responses_path}")
        if report.dead_letters:
            out.print(f"  dead letters → {report.dead_letters_path}", style="yellow")
        if report.aborted:
            out.print(f"  aborted: {report.aborted} {report.abort_detail or ''}", style="red")

    try:
        try:
            steps = run_demo(
                directory, base_url=base_url, api_key=api_key, on_step=finished, on_start=started
            )
        except FileNotFoundError as exc:
            fail(str(exc), EXIT_USAGE)
        clean = all(step.report.exit_code == 0 for step in steps)
        if not as_json:
            delivered = sum(step.report.summary.delivered for step in steps)
            examples = directory / "examples"
            out.print(
                f"\n{len(steps)} flows, {delivered} records delivered. The flows ran from "
                f"{examples}/, and their ledger, responses and dead letters are beside them "
                f"(try `{command_hint()} status {examples / 'create-booking.yaml'}`)."
            )
        if running is not None and keep_running:
            out.print(
                f"the sandbox keeps serving on {running.url} with key {api_key} — Ctrl-C stops it"
            )
            _wait_for_interrupt()
    finally:
        if running is not None:
            running.stop()
    raise SystemExit(0 if clean else EXIT_SOME_FAILED)


def _wait_for_interrupt() -> None:
    import threading

    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        return


LEGEND = (
    "Each flow's line counts its records: read (from its source) = delivered (Cal.com "
    "accepted it) + skipped (not sent, and nothing wrong: the reason follows) + rejected "
    "(could not be sent as it stands) + failed (Cal.com refused it) + dead (no answer "
    "after every retry)."
)


def explain_counts(step: DemoStep, directory: Path) -> list[str]:
    """Why records were skipped, rejected, failed or dead in one step, count by count."""
    report = step.report
    summary = report.summary
    lines: list[str] = []
    if summary.skipped:
        lines.append(f"skipped {summary.skipped}: " + _why_skipped(step, directory))
    not_through = summary.rejected + summary.failed + summary.dead
    if not_through:
        lines.append(
            f"{not_through} not through (rejected, failed or dead): each with its reason in "
            f"{report.dead_letters_path}"
        )
    return lines


def _why_skipped(step: DemoStep, directory: Path) -> str:
    from calsink import dead_letters, load

    report = step.report
    duplicates = 0
    if report.dead_letters_path is not None:
        duplicates = sum(
            1
            for letter in dead_letters(report.dead_letters_path)
            if letter.run == report.run_id and letter.reason.startswith("duplicate of ")
        )
    left_out = report.summary.skipped - report.skipped_delivered - duplicates
    reasons = []
    if left_out:
        flow = load(directory / "examples" / step.flow_file).flow
        where = flow.transform.where if flow.transform else None
        reasons.append(f"{left_out} left out by the flow's `where: {where}`")
    if report.skipped_delivered:
        reasons.append(f"{report.skipped_delivered} delivered by an earlier run")
    if duplicates:
        reasons.append(f"{duplicates} repeating the key of an earlier record")
    return "; ".join(reasons)
