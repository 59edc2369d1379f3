"""A commented starter flow file for a template (`calsink init`, `calsink.init`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from calsink.endpoints import Endpoint
from calsink.flow import NAME_PATTERN

__all__ = ["StarterFlow", "flow_name_for", "starter_flow", "write_starter"]


@dataclass(frozen=True, slots=True)
class StarterFlow:
    """A starter flow: its text, and the files a call wrote (None when it wrote none)."""

    text: str
    flow_path: Path | None = None
    data_path: Path | None = None  # the one-record example beside the flow, when written


def write_starter(endpoint: Endpoint, path: Path, *, force: bool = False) -> StarterFlow:
    """Write ``endpoint``'s starter flow at ``path`` and, unless one is there, an example data
    file beside it (``<stem>-records.jsonl``). FileExistsError when ``path`` exists and not
    ``force``."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    data_path = path.with_name(f"{path.stem}-records.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = starter_flow(endpoint, data_path.name, flow_name_for(path, endpoint))
    path.write_text(text, encoding="utf-8")
    if data_path.exists():
        return StarterFlow(text, path)
    data_path.write_bytes(orjson.dumps(endpoint.example) + b"\n")
    return StarterFlow(text, path, data_path)


def starter_flow(endpoint: Endpoint, data_path: str, name: str | None = None) -> str:
    """A commented flow file for ``endpoint`` that reads ``data_path``, called ``name`` (by
    default the template's name)."""
    version = endpoint.api_version or "none"
    name = name or endpoint.name
    key = endpoint.starter_key
    lines = [
        f"# calsink flow for the {endpoint.name} template: {endpoint.description}",
        f"# Sends {endpoint.method} {endpoint.path} (cal-api-version: {version}).",
        "# Check it with `calsink validate FILE`; see the requests with `calsink preview FILE`.",
        f"# Fields and an example record: `calsink templates {endpoint.name}`.",
        "# Relative paths are relative to this file's directory.",
        "version: 1",
        f"name: {name}            # the ledger keys state by this name",
        "",
        "source:",
        f'  path: {data_path}   # .csv .jsonl .ndjson .json .parquet, or "-" for stdin',
        "",
        "# transform:                      # optional: shape upstream fields into Cal.com's",
        "#   where: \"status == 'demo'\"     # a record for which this is false is skipped",
        "#   map:                          # the outgoing record; nested keys make objects",
        *(f"#     {line}" for line in _map_example(endpoint)),
        "",
        "destination:",
        "  api_key_env: CAL_API_KEY        # or `credential: NAME` (calsink credentials add)",
        "  base_url: https://api.cal.com",
        f"  template: {endpoint.name}",
    ]
    for name, label in endpoint.path_params:
        lines.append(
            f'  # params: {{{name}: "{{{name}}}"}}   # {label}: a macro over the record, or '
            f"{{flow: NAME, key: [field, ...]}} to take it from an earlier flow's ledger"
        )
    lines += [
        "  # api_version: " + version + "        # override the template's cal-api-version",
        "  # exclude: [internal_id]         # attributes left out of the body (dotted paths)",
        "  unknown_fields: warn             # fields Cal.com does not know: warn | reject | drop",
        "",
        "delivery:",
    ]
    if key:
        lines.append(f"  key: [{', '.join(key)}]   # what makes a record the same across runs")
    else:
        lines.append("  # key: [id]    # what makes a record the same; default: its request")
    lines += ["  concurrency: 8", "  rate_limit: auto"]
    if endpoint.destructive:
        lines += [
            "  allow_destructive: false        # this template destroys: set true, or run --yes",
            "  max_destructive: 100",
        ]
    lines += [
        "",
        "responses:",
        f"  jsonl: out/{name}-responses.jsonl",
        "# dead_letters: out/<name>.dead-letters.jsonl   # the default: one file per flow",
        "ledger: .calsink/ledger.db",
        "",
    ]
    return "\n".join(lines)


def _map_example(endpoint: Endpoint) -> list[str]:
    lines: list[str] = []
    for name, value in endpoint.example.items():
        if isinstance(value, dict):
            lines.append(f"{name}:")
            lines += [f'  {child}: "{{{child}}}"' for child in value]
        elif isinstance(value, int) and not isinstance(value, bool):
            lines.append(f'{name}: "int({name})"')
        elif isinstance(value, list):
            continue
        else:
            lines.append(f'{name}: "{{{name}}}"')
    return lines


def flow_name_for(path: Path, endpoint: Endpoint) -> str:
    """The flow's name from its file (``book-hubspot.yaml`` → ``book-hubspot``), so that two
    starters of one template keep apart in the ledger; the template's name if the file's
    cannot be a flow name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")[:100]
    return name if re.match(NAME_PATTERN, name) else endpoint.name
