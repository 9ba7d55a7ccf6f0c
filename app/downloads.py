"""``GET /artifacts/<id>``: a run's file, streamed from the store to a signed-in browser.

The dashboard's download links point here (for an S3 store the route answers with a redirect to a presigned
link, so the bytes go straight from the store to the browser). The file is never read whole into memory nor
sent through the session's websocket (Bokeh refuses messages over its limit, which a case archive passes):
it is read in chunks in a thread and written to the response as it goes, its checksum verified on the way
(the last chunk is sent only once it matched: a mismatch aborts the transfer, so the browser sees a failed
download, never a complete wrong file).

Who may download: whoever may open the dashboard (signed in, and on the allow-list if there is one); without
sign-in (this machine only) anyone who reaches the server. Every file is sent as an attachment of type
``application/octet-stream`` with ``nosniff``: a stored HTML report is saved, never shown under the dashboard's
origin.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import tornado.web
from bokeh.server.views.auth_request_handler import AuthRequestHandler
from tornado.iostream import StreamClosedError

from pipeline.runs import RunError, Services, get_artifact
from pipeline.store import StoreError

from .auth import AuthConfig

log = logging.getLogger("bedflow.downloads")

#: The route, relative to the server's prefix (the page links to ``artifacts/<id>``).
ROUTE = r"/artifacts/(\d{1,18})"


def artifact_path(artifact_id: int) -> str:
    """The dashboard-relative link of an artifact's download."""
    return f"artifacts/{int(artifact_id)}"


def content_disposition(name: str) -> str:
    """``attachment`` with the file name, safe in a header whatever the name holds (RFC 6266 / 5987)."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name) or "download"
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{urllib.parse.quote(name, safe="")}'


class ArtifactDownload(AuthRequestHandler):
    """The handler of :data:`ROUTE` (see the module docstring)."""

    def initialize(self, services: Callable[[], Services], auth: AuthConfig) -> None:
        self.services, self.auth = services, auth

    @tornado.web.authenticated
    async def get(self, artifact_id: str) -> None:
        if self.auth.enabled and not self.auth.authorize(self.current_user):
            raise tornado.web.HTTPError(403)
        found = self.services()
        try:
            artifact = await asyncio.to_thread(get_artifact, int(artifact_id), services=found)
        except RunError:
            raise tornado.web.HTTPError(404) from None
        await send_artifact(self, found, artifact)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish({403: "not allowed\n", 404: "no such file\n"}.get(status_code, f"HTTP {status_code}\n"))


async def send_artifact(handler: tornado.web.RequestHandler, found: Services, artifact: Any) -> None:
    """Answer ``handler``'s request with an artifact's bytes: a redirect to a presigned link (S3 store), else
    streamed from the store in chunks as an attachment, its checksum verified before the last chunk goes out
    (the dashboard's ``/artifacts/<id>`` and the API's ``/api/v1/runs/<id>/artifacts/<name>`` both send so)."""
    if found.settings.store_kind == "s3":
        handler.redirect(await asyncio.to_thread(found.store.url, artifact.key, 600))
        return
    handler.set_header("Content-Type", "application/octet-stream")
    handler.set_header("Content-Disposition", content_disposition(artifact.name))
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Cache-Control", "private, no-store")
    handler.set_header("Content-Length", str(artifact.size))
    chunks = found.store.stream(artifact.key)
    sent, held = 0, b""
    try:
        # one chunk is held back until the next is read: the last goes out only once the checksum verified
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            if held:
                handler.write(held)
                await handler.flush()
                sent += len(held)
            held = chunk
        handler.write(held)
    except StoreError as error:
        log.error("download of artifact %s (%s) failed after %d bytes: %s", artifact.id, artifact.name, sent, error)
        if sent == 0:
            raise tornado.web.HTTPError(502, reason="the stored file could not be read") from None
        handler.request.connection.close()  # a short, aborted response: the client marks the download failed
        return
    except StreamClosedError:
        return  # the client went away
    finally:
        chunks.close()
    handler.finish()


def download_route(services: Callable[[], Services], auth: AuthConfig) -> tuple[str, type, dict[str, Any]]:
    """The ``extra_patterns`` entry of :data:`ROUTE` for ``pn.serve``."""
    return ROUTE, ArtifactDownload, {"services": services, "auth": auth}


__all__ = ["ROUTE", "ArtifactDownload", "artifact_path", "content_disposition", "download_route", "send_artifact"]
