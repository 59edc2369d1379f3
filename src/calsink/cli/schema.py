from __future__ import annotations

import json

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of the flow file (for editors)."""
    from calsink import flow_schema

    click.echo(json.dumps(flow_schema(), indent=2, ensure_ascii=False))
