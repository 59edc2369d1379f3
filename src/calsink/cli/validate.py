"""``calsink validate`` and ``calsink preview``: render every record, send nothing.

Neither command needs an API key. Path parameters taken from an earlier flow
(``params: {uid: {flow: ..., key: [...]}}``) are looked up in the flow's ledger when
that file exists (``--ledger`` names another one); without a ledger entry the record
is rejected with that reason, exactly as a run would reject it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsink.cli._output import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    command_hint,
    console,
    emit_json,
    empty_source_note,
    flow_errors,
)

if TYPE_CHECKING:
    from calsink import Duplicate, Finding, Notice, Problem, Rejection
    from calsink.cli._groups import ReasonGroups

MAX_WARNING_LINES = 50

_ledger_option = click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Ledger to look up path parameters from earlier flows (default: the flow's ledger).",
)
_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output on stdout."
)


_all_option = click.option(
    "--all", "show_all", is_flag=True, help="One line per record instead of one per reason."
)


@click.command()
@click.argument("flow", type=click.Path(dir_okay=False))
@_json_option
@_all_option
@_ledger_option
def validate(flow: str, as_json: bool, show_all: bool, ledger_path: str | None) -> None:
    """Check every record of FLOW against the endpoint's contract; send nothing.

    Groups the rejected records by reason, commonest first, with a count and the first
    positions ("416 rejected: start: expected … (leads.csv:13, … 413 more)"), and the
    records that repeat the key of an earlier one (a run skips them). --all lists each
    record, --json gives one object per record. Exit 1 if any record is rejected, 0
    otherwise, 2 when the flow file cannot be used.
    """
    import calsink
    from calsink import Duplicate, Rejection
    from calsink.cli._groups import ReasonGroups

    out = console()
    shown_warnings = 0
    groups = ReasonGroups() if not (as_json or show_all) else None

    def show(finding: Finding) -> None:
        nonlocal shown_warnings
        if isinstance(finding, Rejection):
            if as_json:
                emit_json(finding.to_json())
            elif groups is not None:
                _group_rejection(groups, finding)
            else:
                out.print(f"{finding.position}  {finding.reason}")
        elif isinstance(finding, Duplicate):
            if groups is not None:
                groups.add("duplicates", _DUPLICATE, str(finding.position))
            else:
                _show_duplicate(finding, as_json)
        elif finding.position is None:
            _print_warning(finding)
        else:
            shown_warnings += 1
            if shown_warnings <= MAX_WARNING_LINES:
                out.print(f"{finding.position}  warning: {finding.text}", style="yellow")

    with flow_errors():
        loaded = calsink.load(Path(flow))
        counts = calsink.validate(loaded, ledger=ledger_path, on_finding=show).counts
    if groups:
        groups.print()
        out.print(f"(one line per record: {command_hint()} validate {flow} --all)", style="dim")
    read, warned = counts.read, counts.warnings
    if read == 0:
        note = empty_source_note(loaded)
        if note:
            out.print(note)
    if warned > MAX_WARNING_LINES:
        out.print(f"… and {warned - MAX_WARNING_LINES} more warnings", style="yellow")
    summary = (
        f"read {read} · valid {counts.valid} · rejected {counts.rejected} · "
        f"filtered {counts.filtered}"
    )
    if counts.duplicates:
        summary += f" · duplicates {counts.duplicates}"
    if warned:
        summary += f" · warnings {warned}"
    out.print(summary, style="bold")
    raise SystemExit(EXIT_SOME_FAILED if counts.rejected else EXIT_OK)


def _print_warning(warning: Notice) -> None:
    console().print(f"warning: {warning.text}", style="yellow")


_DUPLICATE = "the delivery key of an earlier record (a run skips them)"


def _group_rejection(groups: ReasonGroups, rejection: Rejection) -> None:
    """A rejection under what was expected of which fields; its first value as the example."""
    problems = rejection.problems
    reason = "; ".join(_problem_group(problem) for problem in problems)
    example = None
    if problems and problems[0].found is not None:
        hint = problems[0].hint
        example = problems[0].found + (f" ({hint})" if hint else "")
    groups.add("rejected", reason[:300], str(rejection.position), example)


def _problem_group(problem: Problem) -> str:
    """What a problem is about, without the record's own value: ``start: expected …``; for a
    row that could not be read, its reason with the numbers left out."""
    if problem.field is None and problem.expected == "a readable record" and problem.found:
        return "unreadable: " + re.sub(r"\d+", "N", problem.found.split(";")[0])[:120]
    return (f"{problem.field}: " if problem.field else "") + f"expected {problem.expected}"


def _show_duplicate(duplicate: Duplicate, as_json: bool) -> None:
    if as_json:
        emit_json({**duplicate.to_json(), "field": None})
    else:
        console().print(
            f"{duplicate.position}  {duplicate.reason} (same delivery key; a run skips it)"
        )


@click.command()
@click.argument("flow", type=click.Path(dir_okay=False))
@click.option(
    "-n",
    "count",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many requests to show.",
)
@_json_option
@_ledger_option
def preview(flow: str, count: int, as_json: bool, ledger_path: str | None) -> None:
    """Show the first requests of FLOW exactly as they would be sent (secrets redacted)."""
    import orjson

    import calsink
    from calsink import Rejection

    out = console()

    def show(finding: Rejection | Notice) -> None:
        if isinstance(finding, Rejection):
            out.print(f"{finding.position}  rejected: {finding.reason}", style="red")
        else:
            _print_warning(finding)

    with flow_errors():
        loaded = calsink.load(Path(flow))
        views = calsink.preview(loaded, count, ledger=ledger_path, on_finding=show)
    for view in views:
        if as_json:
            emit_json(view)
            continue
        positions = ", ".join(view.get("positions", [view["position"]]))
        out.print(f"── {positions} ──", style="bold")
        out.print(f"{view['method']} {view['url']}", style="bold cyan")
        for name, value in view["headers"].items():
            out.print(f"{name}: {value}")
        if "credential" in view:
            out.print(f"(sent with the key of credential {view['credential']})")
        if view["body"] is None:
            out.print("(no body)", style="dim")
        else:
            text = orjson.dumps(view["body"], option=orjson.OPT_INDENT_2).decode()
            out.print("\n" + text)
        for warning in view["warnings"]:
            out.print(f"warning: {warning}", style="yellow")
        out.print("")
    if not views:
        out.print("no request to show: every record read was rejected or filtered", style="bold")
    raise SystemExit(EXIT_OK)
