"""What every command shares: the home directory, passphrases, errors, output."""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, ParamSpec, TypeVar

import platformdirs
import typer

from provenance.errors import PassphraseRequired, ProvenanceError, Remedy, UsageError
from provenance.files import safe_text

P = ParamSpec("P")
R = TypeVar("R")

PASSPHRASE_ENV = "PROVENANCE_PASSPHRASE"
HOME_ENV = "PROVENANCE_HOME"
#: Longest rendering of one message or value on the terminal (messages carry paths).
SHOWN_LIMIT = 4096


def shown(value: object) -> str:
    """``value`` as the terminal may show it: escape sequences and controls removed.

    Every user-controlled string a command prints (file names, identity names, certificate
    subjects, names from files) goes through this, so a name cannot retitle the terminal,
    recolour it or break a line in two.
    """
    return safe_text(value, SHOWN_LIMIT)


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("provenance-toolkit", appauthor=False))


def home_of(ctx: typer.Context) -> Path:
    """The --home chosen on the root command (or its default)."""
    root = ctx.find_root()
    home = root.obj.get("home") if isinstance(root.obj, dict) else None
    return Path(home) if home else default_home()


def repository_location(ctx: typer.Context, given: str | None) -> str:
    """``--repository`` as given, else the SQLite file under the home directory."""
    from provenance.home import default_repository

    return given or str(default_repository(home_of(ctx)))


def read_passphrase(*, confirm: bool = False, purpose: str = "key store") -> str:
    """PROVENANCE_PASSPHRASE, else a prompt on the terminal; never argv."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value is not None:
        if not value:
            raise PassphraseRequired(f"{PASSPHRASE_ENV} is set but empty")
        return value
    if not sys.stdin.isatty():
        raise PassphraseRequired(
            f"a passphrase is needed for the {purpose}: set {PASSPHRASE_ENV} "
            "or run in a terminal to be prompted"
        )
    first = getpass.getpass(f"Passphrase for the {purpose}: ")
    if not first:
        raise PassphraseRequired("an empty passphrase is not allowed")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise UsageError("the two passphrases differ")
    return first


def fail(message: str, code: int) -> NoReturn:
    """Print one line to stderr and exit with ``code``.

    The message is escaped: library messages embed file names and strings from files.
    """
    typer.echo(f"error: {shown(message)}", err=True)
    raise typer.Exit(code)


#: What the library's remedies are called on the command line.
HINTS: dict[Remedy, str] = {
    Remedy.REPLACE: "use --force to replace it",
    Remedy.MARK_ANYWAY: "use --force to mark it anyway",
    Remedy.RECURSE: "use --recursive",
    Remedy.NO_WATERMARK: "or use --no-watermark",
    Remedy.NO_REPOSITORY: "or pass --no-repository",
    Remedy.OTHER_HOME: "or choose another --home or PROVENANCE_HOME",
    Remedy.KEEP_INVALID_HISTORY: "--keep-invalid-history records them as an invalid ingredient",
    Remedy.MANIFEST_ALONE: "or verify CONTENT --manifest FILE.c2pa",
    Remedy.CREATE_STORE: "run `provenance keys init` to create one, or choose another --home "
    "or PROVENANCE_HOME",
    Remedy.CREATE_TSA: "run `provenance keys tsa --create`, or sign once, which makes it",
    Remedy.ROTATE: "`provenance keys rotate NAME` gives it a new key and certificate",
    Remedy.ROTATE_TSA: "`provenance keys rotate tsa` gives it a new key and certificate",
    Remedy.ALLOW_CERTIFICATE: "export the signer's root with `provenance keys export --root` "
    "and add that, or allow this certificate alone with `provenance trust allow FILE`",
    Remedy.ADD_ANCHOR: "trust a CA with `provenance trust add FILE`",
    Remedy.ADD_ROOT: "`provenance keys export --root` on the signer's side writes it",
    Remedy.KNOWN_TRUST_ID: "see `provenance trust list`",
}


def with_hint(message: str, remedy: Remedy | str | None) -> str:
    """``message`` with the flag that gets past it: the library states facts, the CLI
    names its own options."""
    hint = HINTS.get(Remedy(remedy)) if remedy else None
    return f"{message} ({hint})" if hint else message


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one stderr line and their documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ProvenanceError as exc:
            fail(with_hint(exc.diagnostics(), exc.remedy), exc.exit_code)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper
