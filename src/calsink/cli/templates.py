"""``calsink templates [NAME]`` and ``calsink init TEMPLATE [-o FILE]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calsink.cli._output import EXIT_USAGE, command_hint, emit_json, fail

if TYPE_CHECKING:
    from calsink import Endpoint

_BODY = {
    "record": "the record",
    "fields": "only the fields the record gives",
    "empty": "empty",
    "none": "none",
}


def _get(name: str) -> Endpoint:
    from calsink import template

    try:
        return template(name)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def template_json(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "description": endpoint.description,
        "method": endpoint.method,
        "path": endpoint.path,
        "cal_api_version": endpoint.api_version,
        "path_params": [{"name": n, "label": label} for n, label in endpoint.path_params],
        "body": endpoint.body_rule,
        "required": list(endpoint.required),
        "optional": list(endpoint.optional),
        "nested": {parent: list(children) for parent, children in endpoint.nested},
        "defaults": dict(endpoint.defaults),
        "rules": list(endpoint.notes),
        "deprecated": {f.name: f.deprecated for f in endpoint.fields if f.deprecated},
        "advice": {f.name: f.advice for f in endpoint.fields if f.advice},
        "destructive": endpoint.destructive,
        "creates": endpoint.creates,
        "identifier": endpoint.identifier,
        "example": endpoint.example,
    }


@click.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def templates(name: str | None, as_json: bool) -> None:
    """List the templates, or show one: method, path, cal-api-version, fields, an example."""
    import calsink

    if name is None:
        if as_json:
            for endpoint in calsink.templates():
                emit_json(template_json(endpoint))
            return
        rows = [
            (
                endpoint.name,
                f"{endpoint.method} {endpoint.path}",
                endpoint.api_version or "(no version header)",
                endpoint.description,
            )
            for endpoint in calsink.templates()
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            click.echo("  ".join([*cells, row[3]]))
        run = command_hint()
        click.echo(f"\nShow one with `{run} templates NAME`; start a flow with `{run} init NAME`.")
        return
    endpoint = _get(name)
    if as_json:
        emit_json(template_json(endpoint))
        return
    click.echo(_describe(endpoint))


def _describe(endpoint: Endpoint) -> str:
    import orjson

    params = ", ".join(f"{n} ({label})" for n, label in endpoint.path_params) or "—"
    required = ", ".join(endpoint.required) or "—"
    if endpoint.notes:
        required += " (and the rules below)"
    rows = [
        ("method and path", f"{endpoint.method} {endpoint.path}"),
        ("cal-api-version", endpoint.api_version or "none (Cal.com takes no version here)"),
        ("path parameters", params),
        ("body", _BODY[endpoint.body_rule]),
        ("required fields", required),
        ("optional fields", ", ".join(endpoint.optional) or "—"),
    ]
    # The fields a nested object may hold; which of them it needs is said by the rules.
    rows += [(f"{parent} may hold", ", ".join(children)) for parent, children in endpoint.nested]
    if endpoint.defaults:
        filled = ", ".join(f"{k}: {orjson.dumps(v).decode()}" for k, v in endpoint.defaults)
        rows.append(("filled when absent", filled))
    for note in endpoint.notes:
        rows.append(("rule", note))
    rows += [("deprecated", f"{f.name}: {f.deprecated}") for f in endpoint.fields if f.deprecated]
    rows += [("advice", f"{f.name}: {f.advice}") for f in endpoint.fields if f.advice]
    if endpoint.destructive:
        rows.append(("destructive", "yes: needs delivery.allow_destructive or --yes"))
    lines = [f"{endpoint.name} — {endpoint.description}", ""]
    lines += [f"  {label:<19} {value}" for label, value in rows]
    example = orjson.dumps(endpoint.example, option=orjson.OPT_INDENT_2).decode()
    lines += ["", "example record:", example]
    return "\n".join(lines)


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


def _flow_name(path: Path, endpoint: Endpoint) -> str:
    """The flow's name from its file (``book-hubspot.yaml`` → ``book-hubspot``), so that two
    starters of one template keep apart in the ledger; the template's name if the file's
    cannot be a flow name."""
    import re

    from calsink import flow_name_pattern

    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")[:100]
    return name if re.match(flow_name_pattern(), name) else endpoint.name


@click.command()
@click.argument("template")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the flow here (and an example data file beside it) instead of stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing flow file.")
def init(template: str, output: str | None, force: bool) -> None:
    """Write a starter flow file for TEMPLATE, with comments."""
    import orjson

    endpoint = _get(template)
    if output is None:
        click.echo(starter_flow(endpoint, f"{endpoint.name}.jsonl"), nl=False)
        return
    flow_path = Path(output)
    if flow_path.exists() and not force:
        fail(f"{flow_path} exists; pass --force to overwrite it")
    data_path = flow_path.with_name(f"{flow_path.stem}-records.jsonl")
    flow_path.parent.mkdir(parents=True, exist_ok=True)
    flow_path.write_text(
        starter_flow(endpoint, data_path.name, _flow_name(flow_path, endpoint)), encoding="utf-8"
    )
    click.echo(f"wrote {flow_path}")
    if not data_path.exists():
        data_path.write_bytes(orjson.dumps(endpoint.example) + b"\n")
        click.echo(f"wrote {data_path} (one example record)")
    run = command_hint()
    click.echo(f"next: {run} validate {flow_path}  ·  {run} preview {flow_path}")
