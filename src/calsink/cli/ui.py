from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("flow", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--open/--no-open", "open_browser", default=False, help="Open the page in a browser.")
def ui(flow: Path | None, port: int, open_browser: bool) -> None:
    """Configure, preview, test and run a flow in a local web page.

    The page is served on 127.0.0.1 only.  Open it through the printed URL: it
    carries a token made for this start, and the page refuses requests without it.
    """
    import calsink

    def ready(url: str) -> None:
        click.echo(f"calsink ui: open {url}")
        click.echo("(press Ctrl+C to stop)", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        calsink.serve_page(flow, port=port, base_dir=Path.cwd(), on_ready=ready)
    except OSError as exc:
        raise click.UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
        ) from None
    except KeyboardInterrupt:
        pass
