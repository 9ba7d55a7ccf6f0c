"""The JSON API under ``/api/v1``, served by ``bedflow serve`` beside the dashboard (same process and port).

Every route but ``/health`` wants ``Authorization: Bearer <token>`` (:mod:`pipeline.tokens`); the token's user
owns what it submits and meets the dashboard's ownership rules. Handlers only translate HTTP to the same
:mod:`pipeline` calls the CLI and notebooks make (in a thread: never blocking the server's loop) and back:

=======  ======================================  ===================================================
GET      /api/v1/runs                            runs, newest first (filters as ``bedflow runs``, paged)
POST     /api/v1/runs                            submit a ``.bed`` text (``text/plain``) or a JSON spec: 201
GET      /api/v1/runs/{id}                       status, progress, stage, spec, results, provenance, timings
POST     /api/v1/runs/{id}/cancel                cancel (owner or admin)
GET      /api/v1/runs/{id}/artifacts             the run's files
GET      /api/v1/runs/{id}/artifacts/{name}      one file: streamed (local store) or a redirect (S3)
GET      /api/v1/runs/{id}/report                the run's report (HTML)
POST     /api/v1/sweeps                          a spec, a parameter path and its values: 201
POST     /api/v1/validate                        a ``.bed`` text → the canonical JSON spec, or 422 and problems
GET      /api/v1/openapi.json                    this API as OpenAPI 3.1
=======  ======================================  ===================================================

Errors are ``{"error": "...", "problems": [...]}`` with 400 (bad request), 401 (no or dead token), 403 (not
yours), 404, 409 (the run is finished), 413 (body over :data:`MAX_BODY` bytes), 422 (a spec with problems) or 503
(the database, store or queue is down).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import tornado.web

from pipeline.dsl import MAX_BED_BYTES
from pipeline.errors import BedSyntaxError, BedValidationError, Problem, QueueError
from pipeline.runs import Services

from .downloads import send_artifact

log = logging.getLogger("bedflow.api")

PREFIX = "/api/v1"
#: The largest request body (bytes): a `.bed` text's own limit, and room for a JSON spec or sweep.
MAX_BODY = MAX_BED_BYTES + 64 * 1024
#: The largest page of ``GET /runs``.
MAX_LIMIT = 1000
ID = r"(\d{1,10})"


class ApiError(Exception):
    """An HTTP error with a JSON body: ``{"error": message, "problems": [...]}``."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems or []


def problem_document(problem: Problem | BedSyntaxError) -> dict[str, Any]:
    """A problem of a `.bed` text as JSON: ``path``, ``message``, ``line`` and ``column`` (when known) and
    ``text``, the line ``bedflow validate`` prints."""
    if isinstance(problem, BedSyntaxError):
        location, path, message = problem.location, "", problem.message
    else:
        location, path, message = problem.location, problem.path, problem.message
    return {"path": path, "message": message, "line": location.line if location else None,
            "column": location.column if location else None, "text": str(problem).splitlines()[0]}


def problems_of(error: BedSyntaxError | BedValidationError) -> list[dict[str, Any]]:
    if isinstance(error, BedSyntaxError):
        return [problem_document(error)]
    return [problem_document(problem) for problem in error.problems]


class ApiHandler(tornado.web.RequestHandler):
    """The base of every API route: bearer-token sign-in, JSON errors, a size cap on bodies, blocking work in
    threads."""

    def initialize(self, services: Callable[[], Services]) -> None:
        self.services = services
        self.user = ""

    async def prepare(self) -> None:
        length = self.request.headers.get("Content-Length")
        if (length and length.isdigit() and int(length) > MAX_BODY) or len(self.request.body or b"") > MAX_BODY:
            raise ApiError(413, f"the request body may take at most {MAX_BODY:,} bytes")
        header = self.request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "this API wants `Authorization: Bearer <token>` (bedflow token create USER)")
        from pipeline.tokens import authenticate

        user = await self.call(authenticate, secret.strip(), services=self.services())
        if user is None:
            raise ApiError(401, "the token is unknown, expired or revoked")
        self.user = user

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` in a thread; bedflow's errors become API errors."""
        from pipeline.jobs.control import RunPermissionError
        from pipeline.limits import LimitExceeded
        from pipeline.runs import RunError, RunNotFound
        from pipeline.store import StoreError
        from pipeline.db import DatabaseError

        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (BedSyntaxError, BedValidationError) as error:
            raise ApiError(422, "the spec has problems", problems_of(error)) from None
        except RunPermissionError as error:
            raise ApiError(403, str(error)) from None
        except LimitExceeded as error:
            raise ApiError(422, str(error)) from None
        except (DatabaseError, StoreError, QueueError) as error:
            log.error("API %s %s: %s", self.request.method, self.request.path, error)
            raise ApiError(503, "the database, store or queue is not available; try again later") from None
        except RunNotFound as error:
            raise ApiError(404, str(error)) from None
        except RunError as error:
            raise ApiError(409, str(error)) from None

    # -- answers -------------------------------------------------------------------------------------
    def send_json(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(document, ensure_ascii=False, allow_nan=False, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            status, body = error.status, {"error": error.message, "problems": error.problems}
        elif isinstance(error, tornado.web.HTTPError):
            status, body = status_code, {"error": error.log_message or self._reason, "problems": []}
        else:
            status, body = 500, {"error": "internal error (logged on the server)", "problems": []}
        if status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="bedflow"')
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        super().send_error(error.status if isinstance(error, ApiError) else status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, ApiError):
            super().log_exception(typ, value, tb)

    # -- reading requests ---------------------------------------------------------------------------------
    def json_body(self) -> dict[str, Any]:
        try:
            document = json.loads(self.request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, f"the body is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise ApiError(400, "the body is a JSON object")
        return document

    def text_body(self) -> str:
        try:
            return self.request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "a .bed text is UTF-8") from None

    def is_text(self) -> bool:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/plain"

    def spec_from(self, document: Mapping[str, Any] | None) -> Any:
        """The spec of a request: its `.bed` text (``text/plain``), or the ``spec`` (canonical JSON) or ``bed``
        (`.bed` text) of a JSON body. Problems raise 422 (through :meth:`call`)."""
        from pipeline import BedSpec, parse_bed

        if document is None:
            return parse_bed(self.text_body(), filename="request.bed")
        if isinstance(document.get("bed"), str):
            return parse_bed(document["bed"], filename="request.bed")
        if isinstance(document.get("spec"), dict):
            return BedSpec.from_dict(document["spec"])
        raise ApiError(400, "give the spec as a .bed text (Content-Type: text/plain), or a JSON object with "
                            "`spec` (the canonical JSON) or `bed` (a .bed text)")

    def until(self, document: Mapping[str, Any] | None) -> str:
        until = self.get_query_argument("until", None) or (document or {}).get("until") or "solve"
        if until not in ("pack", "mesh", "solve"):
            raise ApiError(400, f"until is pack, mesh or solve, got {until!r}")
        return until


def _int_argument(handler: ApiHandler, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,10}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} is a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _time_argument(handler: ApiHandler, name: str) -> datetime | None:
    raw = handler.get_query_argument(name, None)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} is an ISO 8601 time (2026-12-07 or 2026-12-07T10:00:00Z), got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class RunsHandler(ApiHandler):
    """``GET /runs`` (list) and ``POST /runs`` (submit)."""

    async def get(self) -> None:
        from pipeline.db import RunStatus
        from pipeline.db.queries import run_document
        from pipeline.runs import list_runs

        filters: dict[str, Any] = {}
        statuses = [s for value in self.get_query_arguments("status") for s in value.split(",") if s]
        known = {s.value for s in RunStatus}
        if any(s not in known for s in statuses):
            raise ApiError(400, f"status is one of {', '.join(sorted(known))}")
        if statuses:
            filters["status"] = statuses
        if self.get_query_argument("bed", None):
            filters["bed"] = self.get_query_argument("bed")
        if self.get_query_argument("owner", None):
            filters["created_by"] = self.get_query_argument("owner").strip().lower()
        sweep = _int_argument(self, "sweep", None, 1, 2**31 - 1)
        if sweep is not None:
            filters["sweep"] = sweep
        for name, key in (("since", "since"), ("before", "before")):
            if (value := _time_argument(self, name)) is not None:
                filters[key] = value
        limit = _int_argument(self, "limit", 100, 1, MAX_LIMIT)
        offset = _int_argument(self, "offset", 0, 0, 2**31 - 1)
        runs = await self.call(list_runs, services=self.services(), limit=limit, offset=offset, **filters)
        self.send_json({"runs": [run_document(run, full=False) for run in runs], "limit": limit, "offset": offset})

    async def post(self) -> None:
        from pipeline.jobs import submit

        document = None if self.is_text() else self.json_body()
        spec = await self.call(self.spec_from, document)
        until = self.until(document)
        found = self.services()
        run_id = await self.call(submit, spec, until=until, created_by=self.user, settings=found.settings)
        self.set_header("Location", f"{PREFIX}/runs/{run_id}")
        self.send_json({"id": run_id}, status=201)


class RunHandler(ApiHandler):
    """``GET /runs/{id}``."""

    async def get(self, run_id: str) -> None:
        from pipeline.db.queries import run_document
        from pipeline.runs import get_run

        run = await self.call(get_run, int(run_id), services=self.services())
        self.send_json(run_document(run))


class CancelHandler(ApiHandler):
    """``POST /runs/{id}/cancel``: as the token's user (owner or admin)."""

    async def post(self, run_id: str) -> None:
        from pipeline.jobs import cancel
        from pipeline.runs import get_run

        found = self.services()
        run = await self.call(get_run, int(run_id), services=found)
        if run.status.finished:
            raise ApiError(409, f"run {run.id} is already {run.status.value}")
        self.send_json(await self.call(cancel, int(run_id), by=self.user, settings=found.settings))


class ArtifactsHandler(ApiHandler):
    """``GET /runs/{id}/artifacts``."""

    async def get(self, run_id: str) -> None:
        from pipeline.runs import get_run, run_artifacts

        found = self.services()
        await self.call(get_run, int(run_id), services=found)
        artifacts = await self.call(run_artifacts, int(run_id), services=found)
        self.send_json({"artifacts": [
            {"id": a.id, "name": a.name, "kind": a.kind, "size": a.size, "sha256": a.sha256,
             "url": f"{PREFIX}/runs/{int(run_id)}/artifacts/{a.name}"} for a in artifacts]})


class ArtifactHandler(ApiHandler):
    """``GET /runs/{id}/artifacts/{name}``: streamed, or a redirect to a presigned link on S3."""

    async def get(self, run_id: str, name: str) -> None:
        from pipeline.runs import get_run, run_artifacts

        found = self.services()
        await self.call(get_run, int(run_id), services=found)
        artifacts = [a for a in await self.call(run_artifacts, int(run_id), services=found) if a.name == name]
        if not artifacts:
            raise ApiError(404, f"run {int(run_id)} has no file named {name!r}")
        await send_artifact(self, found, artifacts[0])


class ReportHandler(ApiHandler):
    """``GET /runs/{id}/report``: the run's self-contained HTML report."""

    async def get(self, run_id: str) -> None:
        from pipeline.reporting import ReportError, run_html
        from pipeline.runs import get_run

        found = self.services()
        await self.call(get_run, int(run_id), services=found)
        try:
            page = await self.call(run_html, int(run_id), services=found)
        except ReportError as error:
            raise ApiError(409, str(error)) from None
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", "sandbox")  # never run as the API's origin in a browser
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(page)


class SweepsHandler(ApiHandler):
    """``POST /sweeps``: ``{"spec": {...} | "bed": "...", "parameter": "cfd.particle_reynolds", "values": [1, 10]
    | "1, 10", "until": "solve", "name": "..."}``."""

    async def post(self) -> None:
        from pipeline.jobs import submit_sweep
        from pipeline.jobs.control import parse_sweep_values

        document = self.json_body()
        spec = await self.call(self.spec_from, document)
        parameter, values = document.get("parameter"), document.get("values")
        if not isinstance(parameter, str) or not parameter:
            raise ApiError(400, "a sweep names its `parameter`, a field path such as cfd.particle_reynolds")
        if isinstance(values, list):
            values = ", ".join(str(value) for value in values)
        if not isinstance(values, str):
            raise ApiError(400, "a sweep's `values` are a list of numbers or a text such as \"3 mm, 4 mm\"")
        try:
            parsed = parse_sweep_values(parameter, values)
        except (KeyError, ValueError) as error:
            raise ApiError(422, f"values of {parameter}: {error}") from None
        name = document.get("name")
        found = self.services()
        sweep = await self.call(submit_sweep, spec, parameter, parsed, name=name if isinstance(name, str) else None,
                                until=self.until(document), created_by=self.user, settings=found.settings)
        self.send_json({"id": sweep.id, "run_ids": list(sweep.run_ids)}, status=201)


class ValidateHandler(ApiHandler):
    """``POST /validate``: a `.bed` text (or JSON with ``bed`` or ``spec``) → the canonical JSON spec."""

    async def post(self) -> None:
        document = None if self.is_text() else self.json_body()
        spec = await self.call(self.spec_from, document)
        self.send_json({"spec": spec.to_dict(), "digest": spec.digest()})


class OpenApiHandler(ApiHandler):
    """``GET /openapi.json``."""

    async def get(self) -> None:
        self.send_json(openapi_document())


#: (path pattern, handler, {method: (summary, success status)}): the routes and what the OpenAPI document says.
ROUTES: list[tuple[str, type[ApiHandler], dict[str, tuple[str, int]]]] = [
    ("/runs", RunsHandler, {"get": ("List runs, newest first (status, bed, sweep, owner, since, before, limit, "
                                    "offset)", 200),
                            "post": ("Submit a run: a .bed text (text/plain) or {spec|bed, until}", 201)}),
    (f"/runs/{ID}", RunHandler, {"get": ("A run: status, progress, stage, spec, results, provenance, timings", 200)}),
    (f"/runs/{ID}/cancel", CancelHandler, {"post": ("Cancel a queued or running run (its owner or an admin)", 200)}),
    (f"/runs/{ID}/artifacts", ArtifactsHandler, {"get": ("The run's files", 200)}),
    (f"/runs/{ID}/artifacts/([^/]+)", ArtifactHandler, {"get": ("One file: its bytes, or a redirect to a "
                                                                "presigned link on S3", 200)}),
    (f"/runs/{ID}/report", ReportHandler, {"get": ("The run's report (self-contained HTML)", 200)}),
    ("/sweeps", SweepsHandler, {"post": ("Submit a sweep: {spec|bed, parameter, values, until, name}", 201)}),
    ("/validate", ValidateHandler, {"post": ("Check a .bed text: the canonical JSON spec, or 422 with problems",
                                             200)}),
    ("/openapi.json", OpenApiHandler, {"get": ("This API as OpenAPI 3.1", 200)}),
]


def api_routes(services: Callable[[], Services]) -> list[tuple[str, type[ApiHandler], dict[str, Any]]]:
    """The ``extra_patterns`` of ``pn.serve`` for the API."""
    return [(PREFIX + pattern, handler, {"services": services}) for pattern, handler, _ in ROUTES]


def openapi_path(pattern: str) -> str:
    """``/runs/(\\d{1,10})/artifacts/([^/]+)`` → ``/runs/{id}/artifacts/{name}``."""
    return PREFIX + pattern.replace(ID, "{id}", 1).replace("([^/]+)", "{name}")


def openapi_document() -> dict[str, Any]:
    """The API as an OpenAPI 3.1 document, built from :data:`ROUTES` (a test checks every route is in it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("bedflow")
    except PackageNotFoundError:
        release = "0"
    error = {"description": "An error",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    paths: dict[str, Any] = {}
    for pattern, _, methods in ROUTES:
        path = openapi_path(pattern)
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer"} if name == "id" else {"type": "string"}}
                      for name in re.findall(r"{(\w+)}", path)]
        item: dict[str, Any] = {}
        for method, (summary, status) in methods.items():
            operation: dict[str, Any] = {
                "summary": summary, "operationId": f"{method}_{re.sub(r'[^a-z]+', '_', path.lower()).strip('_')}",
                "responses": {str(status): {"description": "OK" if status == 200 else "Created"},
                              **{str(code): error for code in (400, 401, 403, 404, 409, 413, 422, 503)}},
            }
            if parameters:
                operation["parameters"] = parameters
            if method == "post" and path.endswith(("/runs", "/sweeps", "/validate")):
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"type": "object"}},
                    **({"text/plain": {"schema": {"type": "string"}}} if not path.endswith("/sweeps") else {})}}
            item[method] = operation
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "bedflow", "version": release,
                 "description": "Packed-bed CFD runs: submit, follow, cancel, download. Bearer tokens from "
                                "`bedflow token create USER`."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "problems"], "properties": {
                "error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "object"}}}}},
        },
        "security": [{"bearer": []}],
    }
