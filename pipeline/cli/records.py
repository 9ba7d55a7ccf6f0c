"""``bedflow runs|show|artifacts|fetch``, ``bedflow db upgrade|current`` and ``bedflow store gc``: the recorded runs
from the command line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..text import printable
from .arguments import RunArgument, SweepOption
from .output import echo, echo_fields, echo_json
from .remote import TokenOption, UrlOption, client_for

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


def runs_command(
    status: Annotated[Optional[list[str]], typer.Option("--status", "-s", help="Only runs with this status "
                                                        "(repeatable): queued, running, succeeded, failed, cancelled.")] = None,
    bed: Annotated[Optional[str], typer.Option("--bed", "-b", help="Only runs of the bed with this name.")] = None,
    sweep: SweepOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many (newest first).")] = 50,
    json_output: JsonOption = False,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="Export the runs with every input and "
                                               "result, SI units in the column names: csv or parquet.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the export here (CSV: default "
                                                "standard output; Parquet needs a file).")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List recorded runs, newest first; or export them (--format csv|parquet)."""
    from ..db import RunStatus
    from ..db.queries import run_document
    from ..runs import RunError, list_runs
    from ..runs.export import FORMATS, ExportError, export_runs

    for value in status or []:
        if value not in RunStatus.__members__:
            raise RunError(f"unknown status {value!r}; use one of {', '.join(RunStatus.__members__)}")
    filters = {"status": status or None, "bed": bed, "sweep": sweep, "limit": limit}
    client = client_for(url, token)
    if client is not None and (fmt is not None or out is not None):
        raise ExportError("exports are made where the runs are recorded: on the deployment, or from Python with "
                          "pipeline.connect().runs_frame(...)")
    if fmt is not None or out is not None:
        fmt = fmt or (out.suffix.lstrip(".").lower() if out and out.suffix else "csv")
        if fmt not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        if fmt == "parquet" and out is None:
            raise ExportError("a Parquet export is binary: name a file with --out")
        data = export_runs(out, fmt, **filters)
        if out is None:  # the exact CSV into a pipe or file; escaped on a terminal (names may hold escape codes)
            text = data.decode("utf-8")
            echo(text.rstrip("\n")) if sys.stdout.isatty() else typer.echo(text, nl=False)
        else:
            echo(f"exported runs to {out} ({len(data):,} bytes)", err=True)
        return
    if client is not None:
        documents = client.runs(**{key: value for key, value in filters.items() if value is not None})
    else:
        documents = [run_document(run, full=False) for run in list_runs(**filters)]
    if json_output:
        echo_json(documents)
        return
    if not documents:
        echo("no runs recorded")
        return
    echo(f"{'id':>5}  {'bed':<20} {'status':<10} {'stage':<12} {'Re_p':>7} {'dp/dz Pa/m':>11} "
         f"{'x Ergun':>7}  created")
    for r in documents:
        dp_dz = f"{r['dp_dz']:11.4g}" if r["dp_dz"] is not None else f"{'-':>11}"
        ergun = f"{r['ratio_ergun']:7.2f}" if r["ratio_ergun"] is not None else f"{'-':>7}"
        stage = r["stage"] if r["status"] == "running" else (r["completed_stage"] or "-")
        bed = printable(r["bed"] or "")[:20]
        created = _when(datetime.fromisoformat(r["created_at"]) if r["created_at"] else None)
        echo(f"{r['id']:>5}  {bed:<20} {r['status']:<10} {stage:<12} {r['re_p']:7.3g} {dp_dz} {ergun}  {created}")


def show_command(run_id: RunArgument, json_output: JsonOption = False) -> None:
    """Show one run: status, inputs, results, timings and provenance."""
    from ..db.queries import run_row
    from ..runs import get_run

    run = get_run(run_id)
    row = {k: _plain(v) for k, v in run_row(run).items()}
    details = {**row, "until": run.until, "completed_stage": run.completed_stage, "message": run.message,
               "worker": run.worker, "folder": run.folder, "heartbeat_at": _plain(run.heartbeat_at),
               "timings": run.timings,
               "provenance": run.provenance, "spec": run.spec}
    if json_output:
        echo_json(details)
        return
    fields = {k: str(v) for k, v in row.items() if v not in (None, "") and k != "id"}
    fields["timings"] = ", ".join(f"{k} {v:.1f} s" for k, v in (run.timings or {}).items()) or "-"
    software = run.provenance or {}
    fields["software"] = ", ".join(f"{k} {software.get(k)}" for k in ("bedflow", "openfoam", "blender", "python"))
    fields["host"] = str(software.get("host", "-"))
    fields["folder"] = printable(run.folder) or "-"
    echo_fields(f"run {run.id} ({run.bed.name})", fields)


def artifacts_command(run_id: RunArgument, json_output: JsonOption = False) -> None:
    """List a run's artifacts (its own and its packing's and mesh's): kind, name, size, checksum."""
    from ..runs import run_artifacts

    artifacts = run_artifacts(run_id)
    if json_output:
        echo_json([{"kind": a.kind, "name": a.name, "owner": a.owner[0], "key": a.key, "size": a.size,
                    "sha256": a.sha256, "content_type": a.content_type} for a in artifacts])
        return
    for a in artifacts:
        echo(f"{printable(a.kind):<8} {printable(a.name):<28} {a.size:>12,d} B  {a.owner[0]:<10} {a.sha256[:12]}")


def fetch_command(
    run_id: RunArgument,
    kind: Annotated[str, typer.Argument(help="Artifact kind: stl, case, vtk, log, results, packing, mesh, bed, ...",
                                        show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to download into.")] = Path("."),
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Download (and verify) a run's artifacts of one kind, named as recorded; a recorded name that would lead
    outside the folder (.., an absolute path, a link there pointing elsewhere) is refused."""
    from ..runs import fetch_artifacts

    client = client_for(url, token)
    for path in (client.fetch(run_id, kind, out) if client else fetch_artifacts(run_id, kind, out)):
        echo(str(path))


db_app = typer.Typer(help="The run database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema to the newest (or the given) revision."""
    from ..db import open_database, redact

    database = open_database()
    database.upgrade(revision)
    echo(f"{redact(database.url)} at revision {database.current_revision()}")


@db_app.command("current")
def db_current(json_output: JsonOption = False) -> None:
    """Print the database's revision and the newest one this bedflow knows."""
    from ..db import open_database, redact

    database = open_database()
    info = {"database": redact(database.url), "revision": database.current_revision(), "head": database.head_revision()}
    echo(json.dumps(info) if json_output else f"{info['database']}: revision {info['revision']} (head {info['head']})")


store_app = typer.Typer(help="The artifact store: clean-up.", no_args_is_help=True)


@store_app.command("gc")
def store_gc(
    older_than: Annotated[float, typer.Option("--older-than", min=0.0, help="Only objects last written more than "
                                              "this many hours ago (younger ones may be about to get their rows).")] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List them; delete nothing.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Delete the objects no artifact row names: uploads of workers that died before recording them."""
    from ..db.records import collect_orphans
    from ..runs import open_services

    found = open_services()
    orphans = collect_orphans(found.db, found.store, older_than=older_than * 3600.0, dry_run=dry_run)
    if json_output:
        echo_json([{"key": o.key, "size": o.size, "modified": _plain(o.modified)} for o in orphans])
        return
    for orphan in orphans:
        typer.echo(f"{orphan.key}  {orphan.size:>12,d} B  {_when(orphan.modified)}")
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(orphans)} object(s) no row names, {sum(o.size for o in orphans):,d} B")


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)
    app.command("show")(show_command)
    app.command("artifacts")(artifacts_command)
    app.command("fetch")(fetch_command)
    app.add_typer(db_app, name="db")
    app.add_typer(store_app, name="store")
