"""The demo: every example flow, run in order against a sandbox.

`run_demo` copies the example flows and their data into ``<directory>/examples`` (a
flow's relative paths are relative to its file, so the ledger, responses and dead letters
land beside those copies, not in the shipped examples), then runs each flow against the
sandbox at ``base_url``. Later flows take booking uids and event-type
ids from the ledger of the flows before them, as a user's own pipeline would.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import calsink
from calsink.flow import load_flow
from calsink.runner import RunReport, run_flow

# (flow file, what it shows) in the order they must run.
DEMO_FLOWS: tuple[tuple[str, str], ...] = (
    ("create-booking.yaml", "book demos for the leads in a CSV"),
    ("reschedule-booking.yaml", "reschedule one, uid taken from the first flow's ledger"),
    ("confirm-booking.yaml", "confirm a pending booking"),
    ("cancel-booking.yaml", "cancel one"),
    ("manual-decline-booking.yaml", "decline one through a hand-configured endpoint"),
    ("create-event-type.yaml", "create event types"),
    ("update-event-type.yaml", "update event types"),
    ("delete-event-type.yaml", "delete one, id taken from the ledger"),
    ("create-schedule.yaml", "create schedules"),
    ("create-webhook.yaml", "create webhooks"),
    ("create-out-of-office.yaml", "create out-of-office entries"),
)


@dataclass(frozen=True, slots=True)
class DemoStep:
    flow_file: str
    purpose: str
    report: RunReport


def examples_dir() -> Path:
    """The example flows: shipped in the package, or beside it in a source checkout."""
    package = Path(calsink.__file__).resolve().parent
    for candidate in (package / "_examples", package.parents[1] / "examples"):
        if (candidate / DEMO_FLOWS[0][0]).is_file():
            return candidate
    raise FileNotFoundError("the example flows are not installed with this copy of calsink")


def prepare_workdir(directory: Path) -> Path:
    """Fresh copies of the examples in ``directory``; earlier demo output is cleared."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(directory / "examples", ignore_errors=True)
    shutil.copytree(examples_dir(), directory / "examples")
    return directory


def run_demo(
    directory: Path,
    *,
    base_url: str,
    api_key: str,
    on_step: Callable[[DemoStep], None] | None = None,
    on_start: Callable[[str, str], None] | None = None,
) -> list[DemoStep]:
    """Run every demo flow against ``base_url``; return each flow's report in order."""
    workdir = prepare_workdir(directory)
    steps = []
    for flow_file, purpose in DEMO_FLOWS:
        if on_start is not None:
            on_start(flow_file, purpose)
        loaded = load_flow(workdir / "examples" / flow_file)
        report = run_flow(loaded, api_key=api_key, base_url=base_url, yes=True)
        step = DemoStep(flow_file, purpose, report)
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return steps
