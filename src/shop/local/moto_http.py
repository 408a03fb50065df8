"""moto's server with HTTP/1.1 keep-alive: :class:`KeepAliveMotoServer` (the API of moto's
``ThreadedMotoServer``).

moto serves through werkzeug's development server, which answers every request with
``Connection: close``: each DynamoDB call of the shop opened a TCP connection (the SDK cannot reuse
one), the server started a thread for it, and after the response waited for the client to hang up.
That was about a third of the moto process's CPU per call, and the moto process is one interpreter
(one GIL) serving every API worker. Here a connection serves requests until the client closes it or
stays idle for :data:`IDLE_SECONDS`: a request whose body has a ``Content-Length`` (what the AWS SDKs
and browsers send) is read whole before the application runs, so the next request always starts at
the right byte, and its response leaves in one write with its ``Content-Length``. Anything else (a
chunked body, ``Expect: 100-continue``, ``Connection: close``, HTTP/1.0) is served by werkzeug's own
code, which closes the connection afterwards, as before.
"""

from __future__ import annotations

import io
import logging
import socket
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

log = logging.getLogger("shop.local.moto")

# A kept-alive connection that sends no request for this long is closed (the SDK reconnects).
IDLE_SECONDS = 60.0
# Responses without a body by definition (RFC 9110): no Content-Length of ours on them.
_NO_BODY = {204, 304}


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (its environ for S3 metadata), keeping HTTP/1.1 connections open."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS  # socketserver applies it to the connection: an idle client is dropped

    def setup(self) -> None:
        super().setup()
        # Small responses leave at once (a kept-alive connection carries many of them).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats the access line (IRI decoding, colours) before its logger drops it.
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def _keeps_alive(self) -> bool:
        headers = self.headers
        if self.request_version != "HTTP/1.1" or self.close_connection:
            return False
        if headers.get("Transfer-Encoding") or headers.get("Expect"):
            return False
        length = headers.get("Content-Length")
        return length is None or length.isdigit()

    def run_wsgi(self) -> None:
        if not self._keeps_alive():
            self.close_connection = True
            super().run_wsgi()  # werkzeug's own path; it answers with Connection: close
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True  # the client went away mid-body
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        self.environ = environ
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return lambda data: chunks.append(data)  # the legacy write(): buffered like the rest

        chunks: list[bytes] = []
        try:
            iterable = self.server.app(environ, start_response)
            try:
                chunks.extend(iterable)
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        except Exception:
            log.exception("moto failed on %s %s", self.command, self.path)
            started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            chunks = [b"Internal Server Error"]
            self.close_connection = True
        status, headers = started
        code_text, _, message = status.partition(" ")
        code = int(code_text)
        payload = b"".join(chunks)
        self.send_response(code, message)
        for name, value in headers:
            if name.lower() in {"connection", "transfer-encoding"}:
                continue
            if name.lower() == "content-length" and self.command != "HEAD":
                continue  # ours, from the bytes actually sent
            self.send_header(name, value)
        if self.command != "HEAD" and code not in _NO_BODY and not 100 <= code < 200:
            self.send_header("Content-Length", str(len(payload)))
        else:
            payload = b""
        if self.close_connection:
            self.send_header("Connection", "close")
        # Status line, headers and body in one write: no small segment waits for a delayed ACK.
        buffered: list[bytes] = self.__dict__.setdefault("_headers_buffer", [])  # http.server's
        buffered.append(b"\r\n" + payload)
        self.wfile.write(b"".join(buffered))
        buffered.clear()


class KeepAliveMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose connections stay open between requests (:class:`KeepAliveHandler`)."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=KeepAliveHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
