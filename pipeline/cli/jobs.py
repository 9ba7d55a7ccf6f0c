"""``bedflow submit|status|watch|cancel|recover|worker|workers``: queued runs from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..text import printable
from .arguments import RunArgument
from .output import echo, echo_fields, echo_json, progress_bar
from .remote import TokenOption, UrlOption, client_for

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def submit_command(
    file: Annotated[Path, typer.Argument(help="The .bed file.", show_default=False)],
    until: Annotated[str, typer.Option("--until", help="Last stage: pack, mesh or solve (the whole chain).")] = "solve",
    json_output: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Queue a run of a bed for the workers (`bedflow worker`, or a deployment's with --url); print its id."""
    from ..dsl import read_bed
    from ..jobs import submit

    spec = read_bed(file)  # checked here first: problems read as with `bedflow validate`
    client = client_for(url, token)
    run_id = client.submit(spec, until=until) if client else submit(spec, until=until)
    if json_output:
        echo_json({"id": run_id})
    else:
        echo(f"queued run {run_id}: `bedflow watch {run_id}` to follow it")


def status_command(run_id: RunArgument, json_output: JsonOption = False, url: UrlOption = None,
                   token: TokenOption = None) -> None:
    """Print a run's status, progress, stage, attempts and error (from the database, or a deployment's API)."""
    from ..jobs import status

    client = client_for(url, token)
    info = client.status(run_id) if client else status(run_id)
    if json_output:
        echo_json(info)
    else:
        echo_fields(f"run {run_id}", {k: str(v) for k, v in info.items() if k != "id" and v not in ("", None)})


def watch_command(run_id: RunArgument, url: UrlOption = None, token: TokenOption = None) -> None:
    """Follow a run with a live progress bar until it finishes; exit 1 unless it succeeded."""
    from ..jobs import watch

    client = client_for(url, token)
    final: dict = {}
    with progress_bar(f"run {run_id}") as progress:
        for final in (client.follow(run_id) if client else watch(run_id)):
            progress(final["progress"], f"{final['status']} {final['stage']}: {final['message']}"[:120])
    if final.get("status") != "succeeded":
        echo(f"run {run_id} {final.get('status')}: {final.get('error') or final.get('message')}", err=True)
        raise typer.Exit(1)


def cancel_command(run_id: RunArgument, json_output: JsonOption = False, url: UrlOption = None,
                   token: TokenOption = None) -> None:
    """Cancel a queued or running run (its OpenFOAM/Blender programs are stopped, its logs kept)."""
    from ..jobs import cancel

    client = client_for(url, token)
    info = client.cancel(run_id) if client else cancel(run_id)
    if json_output:
        echo_json(info)
    else:
        echo(f"run {run_id}: {info['status']}")


def recover_command(
    stale_after: Annotated[float | None, typer.Option("--stale-after", help="Seconds without a heartbeat after "
                                                      "which a running run's worker counts as lost (default "
                                                      "BEDFLOW_STALE_AFTER, 60).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Re-queue runs whose worker died (no heartbeat), resuming at their next stage."""
    from ..jobs import recover

    done = recover(stale_after=stale_after)
    if json_output:
        echo_json(done)
        return
    for item in done:
        echo(f"run {item['id']}: {item['action']}" + (f" at {item['stage']}" if "stage" in item else "")
             + (f" ({item['reason']})" if "reason" in item else ""))
    if not done:
        echo("nothing to recover")


def worker_command(
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.")] = 1,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    name: Annotated[str, typer.Option("--name", help="This worker's name in the database and in its runs "
                                      "(default host:pid).")] = "",
) -> None:
    """Run queued stages (Huey consumer, process workers) until SIGINT (Ctrl-C), which stops it gracefully.

    Logs go to stderr (JSON lines with BEDFLOW_LOG_JSON=1); `bedflow workers` lists the running workers."""
    from ..jobs import run_worker

    run_worker(workers, verbose=verbose, name=name or None)


def stage_command(
    run_id: RunArgument,
    stage: Annotated[str, typer.Argument(help="mesh or solve.", show_default=False)],
    worker: Annotated[str, typer.Option("--worker", help="The worker whose claim the stage runs under.")] = "",
    attempt: Annotated[int, typer.Option("--attempt", help="The run's attempt that worker holds.")] = 1,
) -> None:
    """Run one stage of a run here, under its worker's claim: what a Slurm batch job runs (BEDFLOW_EXECUTOR=slurm);
    exit 1 when the stage failed (recorded on the run)."""
    from ..jobs.cluster import HEAVY_STAGES, run_stage_here
    from ..runs import open_services

    if stage not in HEAVY_STAGES or not worker:
        raise typer.BadParameter(f"a batch job runs {' or '.join(HEAVY_STAGES)} for a --worker, not {stage!r}")
    raise typer.Exit(run_stage_here(run_id, stage, worker=worker, attempt=attempt, services=open_services()))


def workers_command(
    show_all: Annotated[bool, typer.Option("--all", help="Also workers silent for more than a day.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List the workers that registered in the run database: alive, stopped, or lost (no heartbeat)."""
    from ..jobs.heartbeats import list_workers

    found = list_workers(within=None if show_all else 24 * 3600.0)
    if json_output:
        echo_json([worker.to_dict() for worker in found])
        return
    if not found:
        echo("no workers: start one with `bedflow worker`")
    for worker in found:
        echo(f"{printable(worker.name):<32} {worker.state:<8} {worker.processes} process(es), {worker.queue} queue, "
             f"last heartbeat {worker.age:.0f} s ago")


def register(app: typer.Typer) -> None:
    app.command("submit")(submit_command)
    app.command("status")(status_command)
    app.command("watch")(watch_command)
    app.command("cancel")(cancel_command)
    app.command("recover")(recover_command)
    app.command("worker")(worker_command)
    app.command("workers")(workers_command)
    app.command("stage")(stage_command)
