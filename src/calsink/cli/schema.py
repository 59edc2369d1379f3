from __future__ import annotations

import json

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of the flow file (for editors)."""
    from calsink.flow import flow_json_schema

    click.echo(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False))
