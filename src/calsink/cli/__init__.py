"""The command line: a thin layer over the library, one module per command.

Commands are imported only when they run, so that ``calsink --help`` stays fast.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
from typing import Any

import click

# name -> (module under calsink.cli, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo", "Run the example flows against a built-in sandbox."),
    "templates": ("templates", "templates", "List the templates, or show one."),
    "init": ("templates", "init", "Write a starter flow file for a template."),
    "schema": ("schema", "schema", "Print the JSON Schema of the flow file."),
    "validate": ("validate", "validate", "Check every record; send nothing."),
    "preview": ("validate", "preview", "Show the first requests exactly as they would be sent."),
    "test": ("run", "test", "Send one request and show the response."),
    "run": ("run", "run", "Send every record of a flow."),
    "status": ("run", "status", "What the ledger knows about a flow."),
    "retry": ("run", "retry", "Send again the records that did not get through."),
    "ledger": ("ledger", "ledger", "Copy an SQLite ledger to a shared PostgreSQL one."),
    "credentials": ("credentials", "credentials", "Store, list, remove and test API keys."),
    "source": ("source", "source", "Read from Cal.com as JSON Lines."),
    "listen": ("source", "listen", "Receive and verify Cal.com webhook deliveries."),
    "sandbox": ("sandbox", "sandbox", "Serve the local Cal.com API v2 emulator."),
    "ui": ("ui", "ui", "Configure, preview, test and run a flow in the browser."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        try:
            module = importlib.import_module(f"calsink.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"calsink.cli.{module_name}":
                return None
            raise
        command = getattr(module, attribute, None)
        return command if isinstance(command, click.Command) else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available(name: str) -> bool:
        module_name = COMMANDS[name][0]
        return importlib.util.find_spec(f"calsink.cli.{module_name}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calsink")
def cli() -> None:
    """calsink sends records to Cal.com, once each, with an account of every row."""
    from calsink import preload_transport
    from calsink.errors import TransportChoiceError

    try:
        preload_transport()
    except TransportChoiceError as exc:
        raise click.UsageError(str(exc)) from None


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="calsink")


def console() -> None:
    """The ``calsink`` command: `main`, then an exit that does not walk every object the
    command made looking for cycles (the OS takes them back with the process; a run of
    20,000 records spent about 35 ms on it)."""
    try:
        main()
    finally:
        gc.freeze()
