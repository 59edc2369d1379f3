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
        ResultStream,
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
        stream,
        template,
        templates,
        test,
        validate,
    )
    from calsink._tools import (
        calcom_query,
        check_key,
        copy_ledger,
        count_records,
        dead_letters,
        dead_letters_path,
        flow_name_pattern,
        flow_schema,
        hide_secrets,
        init,
        is_delivered,
        is_destructive,
        is_loopback,
        load_yaml,
        payload_of,
        preload_transport,
        read_calcom,
        serve_listener,
        serve_page,
        shown_headers,
        source_format,
    )
    from calsink.calcom.kinds import Query as CalcomQuery
    from calsink.checking import Duplicate, Finding, Notice, ValidationReport
    from calsink.credentials import CredentialError
    from calsink.deadletters import DeadLetter
    from calsink.deliver.engine import ProgressEvent
    from calsink.deliver.outcomes import Outcome, RecordResult, Summary
    from calsink.deliver.versions import VersionReport
    from calsink.demo import DemoStep, run_demo
    from calsink.endpoints import Endpoint, Field
    from calsink.flow import Flow, FlowError, LoadedFlow, resolve_references
    from calsink.http.auth import Auth, auth_of
    from calsink.ledger_pg import CopyReport
    from calsink.listen import ListenerStats
    from calsink.records import Position, Problem, Rejection, SourceItem
    from calsink.runner import RunError, RunReport, StatusReport, TestResult
    from calsink.starter import StarterFlow

# Where each public name lives; imported on first use so that `calsink --help` stays quick.
_HOME = {
    "CalcomQuery": "calsink.calcom.kinds",
    "CopyReport": "calsink.ledger_pg",
    "CredentialError": "calsink.credentials",
    "DeadLetter": "calsink.deadletters",
    "DemoStep": "calsink.demo",
    "Duplicate": "calsink.checking",
    "Endpoint": "calsink.endpoints",
    "Field": "calsink.endpoints",
    "Finding": "calsink.checking",
    "Flow": "calsink.flow",
    "FlowError": "calsink.flow",
    "FlowLike": "calsink._api",
    "ListenerStats": "calsink.listen",
    "LoadedFlow": "calsink.flow",
    "Notice": "calsink.checking",
    "Outcome": "calsink.deliver.outcomes",
    "Position": "calsink.records",
    "Problem": "calsink.records",
    "ProgressEvent": "calsink.deliver.engine",
    "RecordResult": "calsink.deliver.outcomes",
    "Rejection": "calsink.records",
    "ResultStream": "calsink._api",
    "Rows": "calsink._api",
    "RunError": "calsink.runner",
    "RunReport": "calsink.runner",
    "SourceItem": "calsink.records",
    "StarterFlow": "calsink.starter",
    "StatusReport": "calsink.runner",
    "Summary": "calsink.deliver.outcomes",
    "TestResult": "calsink.runner",
    "ValidationReport": "calsink.checking",
    "Auth": "calsink.http.auth",
    "auth_of": "calsink.http.auth",
    "VersionReport": "calsink.deliver.versions",
    "aretry": "calsink._api",
    "arun": "calsink._api",
    "atest": "calsink._api",
    "calcom_query": "calsink._tools",
    "check_key": "calsink._tools",
    "copy_ledger": "calsink._tools",
    "count_records": "calsink._tools",
    "dead_letters": "calsink._tools",
    "dead_letters_path": "calsink._tools",
    "flow_name_pattern": "calsink._tools",
    "flow_schema": "calsink._tools",
    "hide_secrets": "calsink._tools",
    "init": "calsink._tools",
    "is_delivered": "calsink._tools",
    "is_destructive": "calsink._tools",
    "is_loopback": "calsink._tools",
    "items_of": "calsink._api",
    "load": "calsink._api",
    "load_yaml": "calsink._tools",
    "payload_of": "calsink._tools",
    "preload_transport": "calsink._tools",
    "preview": "calsink._api",
    "read_calcom": "calsink._tools",
    "resolve_references": "calsink.flow",
    "retry": "calsink._api",
    "run": "calsink._api",
    "run_demo": "calsink.demo",
    "serve_listener": "calsink._tools",
    "serve_page": "calsink._tools",
    "shown_headers": "calsink._tools",
    "source_format": "calsink._tools",
    "status": "calsink._api",
    "stream": "calsink._api",
    "template": "calsink._api",
    "templates": "calsink._api",
    "test": "calsink._api",
    "validate": "calsink._api",
}

__all__ = [
    "Auth",
    "CalcomQuery",
    "CopyReport",
    "CredentialError",
    "DeadLetter",
    "DemoStep",
    "Duplicate",
    "Endpoint",
    "Field",
    "Finding",
    "Flow",
    "FlowError",
    "FlowLike",
    "ListenerStats",
    "LoadedFlow",
    "Notice",
    "Outcome",
    "Position",
    "Problem",
    "ProgressEvent",
    "RecordResult",
    "Rejection",
    "ResultStream",
    "Rows",
    "RunError",
    "RunReport",
    "SourceItem",
    "StarterFlow",
    "StatusReport",
    "Summary",
    "TestResult",
    "ValidationReport",
    "VersionReport",
    "aretry",
    "arun",
    "atest",
    "auth_of",
    "calcom_query",
    "check_key",
    "copy_ledger",
    "count_records",
    "dead_letters",
    "dead_letters_path",
    "flow_name_pattern",
    "flow_schema",
    "hide_secrets",
    "init",
    "is_delivered",
    "is_destructive",
    "is_loopback",
    "items_of",
    "load",
    "load_yaml",
    "payload_of",
    "preload_transport",
    "preview",
    "read_calcom",
    "resolve_references",
    "retry",
    "run",
    "run_demo",
    "serve_listener",
    "serve_page",
    "shown_headers",
    "source_format",
    "status",
    "stream",
    "template",
    "templates",
    "test",
    "validate",
]


# Public names that differ from their private ones.
_RENAMED = {"CalcomQuery": "Query"}

# Integrations: submodules that need an optional extra, imported when first named.
_EXTRAS = frozenset({"dlt", "singer"})


def __getattr__(name: str) -> Any:
    if name in _EXTRAS:
        return importlib.import_module(f"calsink.{name}")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'calsink' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
