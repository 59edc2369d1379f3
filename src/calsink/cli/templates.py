"""``calsink templates [NAME]`` and ``calsink init TEMPLATE [-o FILE]``."""

from __future__ import annotations

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
    import calsink

    try:
        starter = calsink.init(template, output, force=force)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    except FileExistsError as exc:
        if exc.errno is None:  # the flow file is there: calsink.init asks for force
            fail(str(exc))
        fail(_unwritable(output, exc))
    except OSError as exc:
        fail(_unwritable(output, exc))
    if starter.flow_path is None:
        click.echo(starter.text, nl=False)
        return
    click.echo(f"wrote {starter.flow_path}")
    if starter.data_path is not None:
        click.echo(f"wrote {starter.data_path} (one example record)")


def _unwritable(output: str | None, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != output else ""
    return (
        f"cannot write the flow at {output}: {exc.strerror or exc}{where}; "
        "choose a path in a folder you can write to"
    )
