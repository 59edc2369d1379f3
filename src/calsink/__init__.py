"""calsink: send rows to Cal.com — each record's effect once, with an account of every row.

The library is the product; the ``calsink`` command and the page stand on it, one call per
command with the command's name::

    import calsink

    report = calsink.run("flow.yaml", rows=[{"email": "ada@example.com", ...}])
    print(report.summary.delivered, report.exit_code)

`run`, `test`, `retry` work in a script, from threads and inside a running event loop;
`arun`, `atest`, `aretry` are their forms for async code. A flow is a file's path, the
YAML text of one, a mapping, or what `load` returns. docs/python.md has more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsink._api import (
        FlowLike,
        Rows,
        aretry,
        arun,
        atest,
        items_of,
        load,
        preview,
        retry,
        run,
        status,
        template,
        templates,
        test,
        validate,
    )
    from calsink.checking import ValidationReport
    from calsink.credentials import CredentialError
    from calsink.deliver.engine import ProgressEvent
    from calsink.deliver.outcomes import Outcome, RecordResult, Summary
    from calsink.endpoints import Endpoint
    from calsink.flow import Flow, FlowError, LoadedFlow
    from calsink.records import Position, SourceItem
    from calsink.runner import RunError, RunReport, StatusReport, TestResult

# Where each public name lives; imported on first use so that `calsink --help` stays quick.
_HOME = {
    "CredentialError": "calsink.credentials",
    "Endpoint": "calsink.endpoints",
    "Flow": "calsink.flow",
    "FlowError": "calsink.flow",
    "FlowLike": "calsink._api",
    "LoadedFlow": "calsink.flow",
    "Outcome": "calsink.deliver.outcomes",
    "Position": "calsink.records",
    "ProgressEvent": "calsink.deliver.engine",
    "RecordResult": "calsink.deliver.outcomes",
    "Rows": "calsink._api",
    "RunError": "calsink.runner",
    "RunReport": "calsink.runner",
    "SourceItem": "calsink.records",
    "StatusReport": "calsink.runner",
    "Summary": "calsink.deliver.outcomes",
    "TestResult": "calsink.runner",
    "ValidationReport": "calsink.checking",
    "aretry": "calsink._api",
    "arun": "calsink._api",
    "atest": "calsink._api",
    "items_of": "calsink._api",
    "load": "calsink._api",
    "preview": "calsink._api",
    "retry": "calsink._api",
    "run": "calsink._api",
    "status": "calsink._api",
    "template": "calsink._api",
    "templates": "calsink._api",
    "test": "calsink._api",
    "validate": "calsink._api",
}

__all__ = [
    "CredentialError",
    "Endpoint",
    "Flow",
    "FlowError",
    "FlowLike",
    "LoadedFlow",
    "Outcome",
    "Position",
    "ProgressEvent",
    "RecordResult",
    "Rows",
    "RunError",
    "RunReport",
    "SourceItem",
    "StatusReport",
    "Summary",
    "TestResult",
    "ValidationReport",
    "aretry",
    "arun",
    "atest",
    "items_of",
    "load",
    "preview",
    "retry",
    "run",
    "status",
    "template",
    "templates",
    "test",
    "validate",
]


# Integrations: submodules that need an optional extra, imported when first named.
_EXTRAS = frozenset({"dlt", "singer"})


def __getattr__(name: str) -> Any:
    if name in _EXTRAS:
        return importlib.import_module(f"calsink.{name}")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'calsink' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
