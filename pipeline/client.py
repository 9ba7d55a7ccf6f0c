"""A client of a deployed bedflow's JSON API (:mod:`app.api`), whose verbs mirror the local ones.

``pipeline.connect(url, token)`` (or ``BEDFLOW_URL`` and ``BEDFLOW_TOKEN`` in the environment) gives a
:class:`Client`: ``submit``, ``submit_sweep``, ``status``, ``follow``, ``watch``, ``cancel``, ``runs``,
``runs_frame``, ``fetch``, ``report``, ``validate``. With the two variables set, ``pipeline``'s own verbs
(``pipeline.submit``, ``pipeline.watch``, ``pipeline.runs_frame``, ...) go through it, so a notebook written
against the local API runs unchanged against a remote one.

Only the standard library speaks HTTP here (``urllib``); the token goes in an ``Authorization`` header that is
never forwarded on a redirect (a file on S3 comes from a presigned link, which must not see it).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BedflowError
from .store.files import safe_join

if TYPE_CHECKING:
    import pandas

    from .runs.sweeps import SweepRuns
    from .spec import BedSpec

URL_VARIABLE = "BEDFLOW_URL"
TOKEN_VARIABLE = "BEDFLOW_TOKEN"
#: Seconds a request may take (a report of a big run is made on the server while the client waits).
TIMEOUT = 120.0
FINISHED = ("succeeded", "failed", "cancelled")


class ApiClientError(BedflowError):
    """The API refused a request (``status``: the HTTP status; ``problems``: a spec's problems, with line and
    column) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, message: str, problems: Sequence[Mapping[str, Any]] = ()) -> None:
        text = message + "".join(f"\n  {problem.get('text') or problem.get('message')}" for problem in problems)
        super().__init__(text)
        self.status, self.message, self.problems = status, message, list(problems)


class _NoAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects (S3 presigned links) without the bearer token: it is an unredirected header."""


@dataclass
class Client:
    """A deployed bedflow at ``url`` (``https://bedflow.lab.example``), as the user of ``token``."""

    url: str
    token: str = field(repr=False)
    timeout: float = TIMEOUT

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiClientError(0, f"{URL_VARIABLE} is an http(s) address such as https://bedflow.example.org, "
                                    f"got {self.url!r}")
        if not self.token:
            raise ApiClientError(0, f"a token is needed ({TOKEN_VARIABLE}; `bedflow token create USER` makes one)")
        self.url = self.url.rstrip("/")
        self._opener = urllib.request.build_opener(_NoAuthOnRedirect)

    # -- HTTP --------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: bytes | None = None,
                 content_type: str = "application/json") -> Any:
        """The response (open, for the caller to read) of one request; API errors raise :class:`ApiClientError`."""
        address = f"{self.url}/api/v1{path}"
        if query:
            pairs = [(key, str(v)) for key, value in query.items() if value is not None
                     for v in (value if isinstance(value, (list, tuple)) else [value])]
            address += "?" + urllib.parse.urlencode(pairs)
        request = urllib.request.Request(address, data=body, method=method)
        request.add_unredirected_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            try:
                document = json.loads(error.read() or b"{}")
            except ValueError:
                document = {}
            raise ApiClientError(error.code, f"{method} {path}: HTTP {error.code}: "
                                             f"{document.get('error') or error.reason}",
                                 document.get("problems") or ()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiClientError(0, f"cannot reach {self.url}: {reason}") from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._request(method, path, **kwargs) as response:
            return json.loads(response.read())

    def _spec_body(self, spec: "BedSpec | str", **extra: Any) -> bytes:
        document = {"bed": spec} if isinstance(spec, str) else {"spec": spec.to_dict()}
        return json.dumps({**document, **extra}).encode()

    # -- the verbs -----------------------------------------------------------------------------------
    def submit(self, spec: "BedSpec | str", until: str = "solve") -> int:
        """Queue a run of ``spec`` (a :class:`~pipeline.BedSpec` or a `.bed` text) on the deployment's
        workers; its id."""
        return int(self._json("POST", "/runs", body=self._spec_body(spec, until=until))["id"])

    def submit_sweep(self, spec: "BedSpec | str", parameter: str, values: Sequence[Any] | str,
                     until: str = "solve", name: str | None = None) -> "SweepRuns":
        """Queue one run per value of ``parameter``; the sweep's id and run ids."""
        from .runs.sweeps import SweepRuns

        body = self._spec_body(spec, parameter=parameter, until=until, name=name,
                               values=values if isinstance(values, str) else list(values))
        answer = self._json("POST", "/sweeps", body=body)
        return SweepRuns(int(answer["id"]), tuple(int(i) for i in answer["run_ids"]))

    def run(self, run_id: int) -> dict[str, Any]:
        """Everything about a run: status, progress, stage, spec, results, provenance, timings."""
        return self._json("GET", f"/runs/{int(run_id)}")

    def status(self, run_id: int) -> dict[str, Any]:
        """``{"id", "status", "progress", "stage", "attempts", "error", "message", "job"}``, as
        :func:`pipeline.jobs.status`."""
        from .jobs.control import STATUS_KEYS

        document = self.run(run_id)
        return {key: document.get(key) for key in STATUS_KEYS}

    def follow(self, run_id: int, *, interval: float = 1.0, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Yield the run's :meth:`status` whenever it changes, until it is finished (as
        :func:`pipeline.jobs.watch`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            now = self.status(run_id)
            if now != last:
                yield now
                last = now
            if now["status"] in FINISHED:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise ApiClientError(0, f"run {run_id} still {now['status']} after {timeout} s")
            time.sleep(interval)

    def cancel(self, run_id: int) -> dict[str, Any]:
        """Cancel a queued or running run of yours (or anyone's, as an admin); its status after."""
        return self._json("POST", f"/runs/{int(run_id)}/cancel", body=b"{}")

    def runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Runs, newest first: ``status`` (one or a list), ``bed``, ``sweep``, ``owner`` (``created_by``),
        ``since``/``before`` (datetimes or ISO text), ``limit`` (default: all, fetched 1 000 at a time)."""
        if "created_by" in filters:
            filters["owner"] = filters.pop("created_by")
        for key in ("since", "before"):
            if hasattr(filters.get(key), "isoformat"):
                filters[key] = filters[key].isoformat()
        wanted = filters.pop("limit", None)
        found: list[dict[str, Any]] = []
        while wanted is None or len(found) < wanted:
            page = min(1000, wanted - len(found)) if wanted is not None else 1000
            batch = self._json("GET", "/runs", query={**filters, "limit": page, "offset": len(found)})["runs"]
            found += batch
            if len(batch) < page:
                break
        return found

    def runs_frame(self, **filters: Any) -> "pandas.DataFrame":
        """:meth:`runs` as the DataFrame :func:`pipeline.runs_frame` makes locally (one row per run)."""
        from .db.queries import from_documents

        return from_documents(self.runs(**filters))

    def artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """The run's files: ``name``, ``kind``, ``size``, ``sha256``."""
        return self._json("GET", f"/runs/{int(run_id)}/artifacts")["artifacts"]

    def fetch(self, run_id: int, kind: str, destination: str | Path) -> list[Path]:
        """Download the run's files of ``kind`` (``stl``, ``vtk``, ``case``, ...) into ``destination``, each
        verified against its SHA-256 and renamed into place only then; the files (as
        :func:`pipeline.runs.fetch_artifacts`)."""
        artifacts = [a for a in self.artifacts(run_id) if a["kind"] == kind]
        if not artifacts:
            raise ApiClientError(404, f"run {run_id} has no {kind!r} artifact")
        folder = Path(destination)
        folder.mkdir(parents=True, exist_ok=True)
        targets = [safe_join(folder, a["name"]) for a in artifacts]
        return [self._download(run_id, a, target) for a, target in zip(artifacts, targets)]

    def _download(self, run_id: int, artifact: Mapping[str, Any], target: Path) -> Path:
        partial = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        with self._request("GET", f"/runs/{int(run_id)}/artifacts/{urllib.parse.quote(artifact['name'])}") \
                as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != artifact["sha256"]:
            partial.unlink(missing_ok=True)
            raise ApiClientError(0, f"{artifact['name']}: the download does not match its SHA-256")
        partial.replace(target)
        return target

    def report(self, run_id: int, out: str | Path | None = None) -> Path:
        """The run's HTML report, written to ``out`` (default ``run-<id>.html`` here); its path."""
        path = Path(out) if out else Path(f"run-{int(run_id)}.html")
        with self._request("GET", f"/runs/{int(run_id)}/report") as response:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(response.read())
        return path

    def validate(self, text: str) -> dict[str, Any]:
        """Check a `.bed` text on the server: the canonical JSON spec; problems raise :class:`ApiClientError`
        with ``problems`` (line, column, path, message)."""
        return self._json("POST", "/validate", body=text.encode(), content_type="text/plain; charset=utf-8")["spec"]


def connect(url: str | None = None, token: str | None = None, *, timeout: float = TIMEOUT) -> Client:
    """A :class:`Client` of the deployment at ``url`` (default ``BEDFLOW_URL``) with ``token`` (default
    ``BEDFLOW_TOKEN``)."""
    url = url or os.environ.get(URL_VARIABLE, "")
    if not url:
        raise ApiClientError(0, f"no address: give connect(url) or set {URL_VARIABLE}")
    return Client(url, token or os.environ.get(TOKEN_VARIABLE, ""), timeout)


def remote() -> Client | None:
    """The deployment ``BEDFLOW_URL`` names (as ``BEDFLOW_TOKEN``'s user), or ``None`` when it is not set: where
    ``pipeline``'s verbs send their work."""
    return connect() if os.environ.get(URL_VARIABLE, "").strip() else None
