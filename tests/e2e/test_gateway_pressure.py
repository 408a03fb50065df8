"""The local gateway's server under pressure, without the databases: a burst of connections while it
is busy, and slow clients (idle or half-sent connections, slowloris)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.edge.config import EdgeConfig
from shop.local.gateway import CLIENT_TIMEOUT_SECONDS, CONNECTION_THREADS, GatewayConfig, PooledHTTPServer

BURST = 250
SLACK_SECONDS = 3.0


def _server(tmp_path: Path) -> PooledHTTPServer:
    (tmp_path / "index.html").write_text("<!doctype html><title>shop</title>")
    config = GatewayConfig(storefront_dir=tmp_path, edge=EdgeConfig(environment="dev", basic_auth_sha256=None))
    return PooledHTTPServer(("127.0.0.1", 0), config)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[PooledHTTPServer]:
    server = _server(tmp_path)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _get(port: int, path: str = "/", timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_burst_of_connections_waits_in_the_backlog_instead_of_being_refused(tmp_path: Path) -> None:
    # Not accepting yet (as while the platform starts, or when every thread is busy): with the old
    # backlog of 5, most of these connections could not complete their handshake.
    server = _server(tmp_path)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    try:
        sockets = []
        for _ in range(BURST):
            sock = socket.socket()
            sock.settimeout(2)
            sock.connect(("127.0.0.1", port))  # completes in the kernel's accept queue
            sockets.append(sock)
        for sock in sockets:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        thread.start()
        answered = 0
        for sock in sockets:
            sock.settimeout(30)
            if sock.recv(64).startswith(b"HTTP/1.0 200"):
                answered += 1
            sock.close()
        assert answered == BURST
    finally:
        if thread.is_alive():
            server.shutdown()
        server.server_close()


def test_idle_and_half_sent_connections_do_not_block_other_clients(serving: PooledHTTPServer) -> None:
    port = serving.server_address[1]
    slow: list[socket.socket] = []
    try:
        _idle_and_half_sent(port, slow)
    finally:
        for sock in slow:
            sock.close()


def _idle_and_half_sent(port: int, slow: list[socket.socket]) -> None:
    for i in range(8):
        sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_SECONDS + SLACK_SECONDS)
        if i % 2:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # a request that never ends
        slow.append(sock)
    started = time.monotonic()
    assert _get(port).startswith(b"HTTP/1.0 200")
    assert time.monotonic() - started < 2
    # The server drops each slow client once it has sent nothing for CLIENT_TIMEOUT_SECONDS.
    for sock in slow:
        assert sock.recv(1024) == b""  # closed by the server, without a response
        assert time.monotonic() - started < CLIENT_TIMEOUT_SECONDS + SLACK_SECONDS


def test_more_slow_clients_than_threads_only_delay_others_by_the_client_timeout(serving: PooledHTTPServer) -> None:
    port = serving.server_address[1]
    slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(CONNECTION_THREADS + 8)]
    try:
        time.sleep(0.5)  # every thread now waits on a silent client
        started = time.monotonic()
        assert _get(port, timeout=CLIENT_TIMEOUT_SECONDS + SLACK_SECONDS).startswith(b"HTTP/1.0 200")
        assert time.monotonic() - started < CLIENT_TIMEOUT_SECONDS + SLACK_SECONDS
    finally:
        for sock in slow:
            sock.close()
