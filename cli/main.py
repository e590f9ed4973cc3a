"""The root ``provenance`` application: global options and the command tree."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from cli._common import HOME_ENV, default_home
from cli.keys import keys_app
from cli.serve import serve
from cli.sign import sign
from cli.text import text_app
from cli.trust import trust_app
from cli.verify import inspect, verify
from cli.watermark import watermark_app
from provenance import __version__

app = typer.Typer(
    rich_markup_mode=None,  # plain help: rich costs a third of the start-up
    name="provenance",
    help="Sign, watermark and verify AI-generated images and text (C2PA Content Credentials).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provenance-toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Path = typer.Option(
        None,
        "--home",
        envvar=HOME_ENV,
        help="Folder holding the key store, trust anchors and repository "
        f"(default: {default_home()}).",
        show_default=False,
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log diagnostics to stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Global options shared by every command."""
    ctx.obj = {"home": home or default_home()}
    handler = logging.StreamHandler()
    handler.setFormatter(_Plain())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])


class _Plain(logging.Formatter):
    """Log lines as the CLI's own say it: "warning: ...", "debug: ..."."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


app.command(no_args_is_help=True)(sign)
app.command(no_args_is_help=True)(verify)
app.command(no_args_is_help=True)(inspect)
app.command()(serve)
app.add_typer(keys_app, name="keys", help="Signing identities, the local CA and backups.")
app.add_typer(trust_app, name="trust", help="Trust anchors used when verifying.")
app.add_typer(watermark_app, name="watermark", help="Invisible image watermarks on their own.")
app.add_typer(text_app, name="text", help="Statistical watermarks in LLM output.")


def main() -> None:
    """Console-script entry point."""
    # This process owns its lifetime: let it keep freed memory for the next image
    # (provenance/_internal/allocator.py says why; workers forked from it inherit it).
    from provenance.batch import keep_freed_memory

    keep_freed_memory()
    app()
