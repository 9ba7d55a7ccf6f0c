"""Entry point of the ``bedflow`` command: the Typer app and its error handling.

Errors a user can cause (:class:`~pipeline.errors.BedflowError`) are printed as
messages with exit code 2, never as tracebacks.
"""

from __future__ import annotations

import sys

import typer

from ..errors import BedflowError, BedSyntaxError
from . import cfd, demo, doctor, health, jobs, packing, records, render, report, serve, spec, tokens, verify
from .output import echo_error

app = typer.Typer(
    name="bedflow",
    help="Packed-bed CFD: describe a bed, pack it, mesh it, solve the flow, compare with correlations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
spec.register(app)
packing.register(app)
cfd.register(app)
demo.register(app)
records.register(app)
jobs.register(app)
render.register(app)
report.register(app)
serve.register(app)
doctor.register(app)
health.register(app)
verify.register(app)
tokens.register(app)


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"bedflow {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", help="Print bedflow's version and exit.",
                                          callback=_show_version, is_eager=True)) -> None:
    """Packed-bed CFD: describe a bed, pack it, mesh it, solve the flow, compare with correlations."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    try:
        app(args=argv, prog_name="bedflow")  # standalone mode: usage errors exit 2 with a message
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BedflowError as exc:
        # A syntax error already reads "file:line:col: error: ..."; others get the prefix here.
        echo_error(str(exc) if isinstance(exc, BedSyntaxError) else f"error: {exc}")
        return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
