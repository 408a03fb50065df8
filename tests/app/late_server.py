"""A PostgreSQL server that comes up late: a TCP front on a free port for the session's real server.

``mode="refuse"``: nothing listens until ``ready_after`` seconds have passed (connection refused), as
while the proxy's target registers. ``mode="hold"``: connections are accepted at once but get no
answer until then, as while Aurora Serverless v2 resumes a paused instance; after that every
connection, the held ones included, is relayed to the real server byte for byte.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Literal

from shop.local.services import free_port


class LateServer:
    def __init__(self, target_port: int, ready_after: float, mode: Literal["refuse", "hold"]) -> None:
        self.target_port = target_port
        self.ready_after = ready_after
        self.mode = mode
        self.port = free_port()
        self.ready_at = time.monotonic() + ready_after
        self.accepted = 0
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        if self.mode == "refuse":
            while time.monotonic() < self.ready_at and not self._stop.is_set():
                time.sleep(0.02)
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self._sockets.append(listener)
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by close()
                return
            self.accepted += 1
            self._sockets.append(client)
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        while time.monotonic() < self.ready_at and not self._stop.is_set():
            time.sleep(0.02)
        with contextlib.suppress(OSError):
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets.append(upstream)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def url(self, user: str = "postgres", database: str = "shop") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._thread.join(timeout=2)
