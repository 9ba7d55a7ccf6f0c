"""``bedflow doctor``: is everything bedflow needs here? One line per check: status, what was found, how to fix it.

Exit code 0 when no check failed (warnings allowed), 1 when one did; ``--json`` prints the checks as a list of
objects (``name``, ``status``, ``detail``, ``fix``, ``seconds``). See :mod:`pipeline.doctor` for the checks.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from ..doctor import DEFAULT_TIMEOUT, REGISTRY, Check, diagnose, failed, select
from ..text import printable
from .output import echo_json

#: Seconds before a spinner shows which checks are still running.
SPINNER_AFTER = 1.0
COLOURS = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def _diagnose_with_spinner(only: list[str] | None, timeout: float) -> list[Check]:
    """:func:`~pipeline.doctor.diagnose`, with a spinner on standard error naming the checks still running once it
    takes more than ``SPINNER_AFTER`` seconds (rich shows it on a terminal only; it is gone once all are done)."""
    names = select(only)  # an unknown name fails here, before any check starts
    pending = list(names)
    spinner: list[Status] = []  # the spinner, once shown

    def waiting() -> str:
        return "checking " + ", ".join(pending)

    def on_done(check: Check) -> None:  # called from the checks' threads
        pending.remove(check.name)
        if spinner:
            spinner[0].update(waiting())

    outcome: dict[str, list[Check]] = {}
    thread = threading.Thread(target=lambda: outcome.update(checks=diagnose(timeout=timeout, only=names,
                                                                            progress=on_done)),
                              name="bedflow-doctor", daemon=True)
    thread.start()
    thread.join(SPINNER_AFTER)
    if thread.is_alive():
        with Console(stderr=True).status(waiting()) as status:
            spinner.append(status)
            thread.join()
    return outcome["checks"]  # diagnose raises nothing once the names are known


def doctor_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help=f"Run only this check (repeatable): {', '.join(REGISTRY)}.", show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1,
                                           help="Seconds each check may take.")] = DEFAULT_TIMEOUT,
) -> None:
    """Check OpenFOAM, MPI, bpy, rendering, Chromium, the settings, the database, store and queue: say what is
    missing and how to fix it. Exit code 1 when a check failed (warnings allowed)."""
    started = time.perf_counter()
    checks = _diagnose_with_spinner(only, timeout)
    if json_output:
        echo_json([check.to_dict() for check in checks])
    else:
        table = Table(show_lines=False, header_style="bold")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            colour = COLOURS[check.status]
            detail, fix = (Text(printable(text, multiline=True)) for text in (check.detail, check.fix))
            table.add_row(Text(check.name), Text(check.status, style=colour), detail, fix)
        console = Console()
        console.print(table)
        counts = {status: sum(check.status == status for check in checks) for status in COLOURS}
        verdict = "[bold red]bedflow is not ready[/bold red]" if counts["fail"] else "[green]bedflow is ready[/green]"
        warnings = f"{counts['warn']} warning" + ("" if counts["warn"] == 1 else "s")
        console.print(f"{verdict}: {counts['ok']} ok, {warnings}, {counts['fail']} failed "
                      f"({time.perf_counter() - started:.1f} s)", highlight=False)
    if failed(checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
