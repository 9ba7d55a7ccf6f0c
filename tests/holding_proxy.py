"""A TCP proxy the tests put in front of a real server (S3, PostgreSQL) to stop one request in its tracks.

Traffic passes through unchanged until the proxy is armed with :meth:`HoldingProxy.hold`: then the first
client-to-server chunk containing the armed pattern (``PUT /bucket/sha256/`` of an upload, ``INSERT INTO
artifact`` of a database write) is held on that connection (or, with ``then``, the next chunk on that same
connection containing ``then``: the ``COMMIT`` of the transaction that inserted). Either the chunk is cut (only ``forward`` bytes of it
reach the server, the rest of the connection's upload is swallowed: a request that never completes), or, with
``reply=False``, the chunk is delivered and the server's answer is swallowed (a request done, its client never
told). The client stays blocked inside that call, provably, until it is killed (when it dies the proxy closes the
server side, as a killed process's kernel does) or :meth:`HoldingProxy.release` drops the held connection (the
client sees it reset). Other connections keep flowing (heartbeats go on).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class _Hold:
    pattern: tuple[bytes, ...]
    then: bytes | None
    forward: int | None
    reply: bool
    skip: int
    held: threading.Event = field(default_factory=threading.Event)


class HoldingProxy:
    """Listens on 127.0.0.1 at a free port (:attr:`port`) and forwards each connection to ``(host, port)``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._hold: _Hold | None = None
        self._sockets: list[socket.socket] = []
        self._held: list[socket.socket] = []
        self.puts: list[str] = []  # the paths of the HTTP PUT requests that came through (uploads to S3)
        self._closed = False
        threading.Thread(target=self._accept, name="holding-proxy", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def hold(self, *pattern: bytes, then: bytes | None = None, forward: int = 0, reply: bool = True,
             skip: int = 0) -> threading.Event:
        """Arm the proxy: the ``skip+1``-th chunk containing every ``pattern`` (or the chunk containing ``then`` after it
        on its connection) is held: cut to its first ``forward`` bytes, or, with ``reply=False``, delivered whole
        and left unanswered. Returns the event set once a chunk is held."""
        with self._lock:
            self._hold = _Hold(pattern, then, forward, reply, skip)
            return self._hold.held

    def release(self) -> None:
        """Drop the held connections (both sides): their clients see the connection reset."""
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            _close(sock)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    # -- the pumps ------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            mute = threading.Event()  # set: the server's answers on this connection are swallowed
            threading.Thread(target=self._upstream, args=(client, server, mute), daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, mute), daemon=True).start()

    def _claim(self, chunk: bytes) -> _Hold | None:
        with self._lock:
            hold = self._hold
            if hold is None or not all(part in chunk for part in hold.pattern):
                return None
            if hold.skip:
                hold.skip -= 1
                return None
            self._hold = None
            return hold

    def _upstream(self, client: socket.socket, server: socket.socket, mute: threading.Event) -> None:
        swallowing = False
        waiting: _Hold | None = None  # a hold matched here, waiting for its ``then``
        try:
            while chunk := client.recv(65536):
                if swallowing:
                    continue
                if chunk.startswith(b"PUT "):
                    self.puts.append(chunk.split(b" ", 2)[1].decode(errors="replace"))
                if waiting is not None:
                    hold, waiting = (waiting, None) if waiting.then in chunk else (None, waiting)  # type: ignore[operator]
                else:
                    hold = self._claim(chunk)
                    if hold is not None and hold.then is not None:
                        hold, waiting = None, hold
                if hold is None:
                    server.sendall(chunk)
                    continue
                if hold.reply:  # cut the request: the server waits for the rest, the client for an answer
                    server.sendall(chunk[: hold.forward])
                    swallowing = True
                else:  # deliver it; the client never hears back
                    mute.set()
                    server.sendall(chunk)
                with self._lock:
                    self._held += [client, server]
                hold.held.set()
        except OSError:
            pass
        finally:  # the client is gone (killed): so is its server connection
            _close(server)
            _close(client)

    @staticmethod
    def _downstream(server: socket.socket, client: socket.socket, mute: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if not mute.is_set():
                    client.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(client)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
