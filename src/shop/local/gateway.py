"""The local stand-in for CloudFront, Lambda@Edge and API Gateway: one HTTP server on 127.0.0.1.

Every request first goes through the edge function's checks (:func:`shop.edge.handler.process`, with
the same CloudFront viewer-request shape), exactly as CloudFront would run them. Then:

* ``/api/*`` becomes the API Gateway REST proxy event the Lambda receives (resource and path
  parameters from :data:`shop.declarations.ROUTES`) and is handed to ``shop.api.handler.handler``
  in-process;
* everything else is a static file from ``storefront/`` (``index.html`` at ``/``), like the S3 origin.

Connections are served by a pool of threads (HTTP parsing, edge checks, static files); API requests
are handed to a pool of worker processes, each one a warm Lambda execution environment
(:mod:`shop.local.workers`). The listen backlog absorbs bursts of connections, and a client that
sends nothing for :data:`CLIENT_TIMEOUT_SECONDS` is disconnected, so idle or half-sent connections
(slowloris) cannot hold the threads.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from socket import socket
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from shop.api.routes import match_route, route_methods
from shop.declarations import (
    API_PREFIX,
    FRAME_OPTIONS,
    HEALTH_PATH,
    LOCAL_MAIL_PATH,
    MEDIA_PREFIX,
    REFERRER_POLICY,
    REQUEST_ID_HEADER,
    REQUEST_ID_PATTERN,
    ROUTES,
    STOREFRONT_CONTENT_SECURITY_POLICY,
    error_body,
    served_behind_cloudfront,
)
from shop.edge import handler as edge
from shop.edge.config import EdgeConfig
from shop.local.lambda_context import LambdaContext
from shop.local.workers import InvocationTimeoutError, WorkerFailureError

log = logging.getLogger("shop.local")
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)

# The statuses http.server answers by itself, as the platform's error codes.
_HTTP_SERVER_ERRORS: dict[int, tuple[str, str]] = {
    HTTPStatus.BAD_REQUEST: ("bad_request", "the request is not valid HTTP"),
    HTTPStatus.METHOD_NOT_ALLOWED: ("method_not_allowed", "this method is not allowed on this path"),
    HTTPStatus.REQUEST_TIMEOUT: ("request_timeout", "the request was not received in time"),
    HTTPStatus.REQUEST_URI_TOO_LONG: ("uri_too_long", "the request line is too long"),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "request_too_large",
        "a request header is too long or there are too many",
    ),
    HTTPStatus.NOT_IMPLEMENTED: ("not_implemented", "this method is not implemented"),
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: ("http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served"),
}

# One line per request (method, path, status, duration, request id): the local platform's access log.
access_log = logging.getLogger("shop.local.access")

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
Invoke = Callable[[dict[str, Any]], dict[str, Any]]
STAGE = "local"

# Pending connections the kernel queues before accept() (Linux caps it at net.core.somaxconn,
# 4096 by default): a burst of hundreds of checkouts waits instead of being reset.
LISTEN_BACKLOG = 1024
# Threads reading requests and writing responses. Most of a thread's time is spent waiting (on
# the client, or on a worker process), so there are many more of them than cores or workers.
CONNECTION_THREADS = 64
# A client that sends nothing for this long (idle keep-alive, a half-sent request) is dropped.
CLIENT_TIMEOUT_SECONDS = 5.0

# What the CloudFront response headers policy sets on every response, overriding the origin's
# (HSTS is left out: the local gateway speaks plain HTTP).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": FRAME_OPTIONS,
    "Referrer-Policy": REFERRER_POLICY,
    "Content-Security-Policy": STOREFRONT_CONTENT_SECURITY_POLICY,
}


def api_gateway_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
) -> dict[str, Any]:
    """The API Gateway REST (v1) Lambda proxy event for one request, as the function receives it."""
    path = unquote(raw_path)
    resource, path_parameters = match_route(method, raw_path)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    # The REST API declares no binary media types, so API Gateway hands the function every body as
    # UTF-8 text (never base64); bytes that are not UTF-8 arrive as replacement characters.
    text = body.decode("utf-8", errors="replace") if body else None
    now = time.time()
    lookup = {name.lower(): values[-1] for name, values in multi_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lookup.get("host", "127.0.0.1"),
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {"sourceIp": source_ip, "userAgent": lookup.get("user-agent")},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def warm_up(invoke: Invoke) -> int:
    """Invoke the function once with a health-check event, as a first request would (cold start)."""
    event = api_gateway_event(
        method="GET",
        raw_path=HEALTH_PATH,
        raw_query="",
        headers=[("Host", "127.0.0.1"), (REQUEST_ID_HEADER, "local-warm-up")],
        body=b"",
        source_ip="127.0.0.1",
        request_id="local-warm-up",
    )
    return int(invoke(event).get("statusCode", 0))


def in_process(handler: Callable[[], LambdaHandler]) -> Invoke:
    """Invoke the function in this process (one invocation at a time, like one execution environment)."""
    lock = threading.Lock()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        with lock:
            return handler()(event, LambdaContext())

    return invoke


@dataclass
class GatewayConfig:
    storefront_dir: Path
    edge: EdgeConfig
    invoke: Invoke | None = None
    """Runs one API invocation and returns the function's response (set once the API is started)."""
    content_security_policy: str = STOREFRONT_CONTENT_SECURITY_POLICY
    """The storefront CSP; ``make dev`` passes the one admitting localstripe's origin."""
    mail: Callable[[], list[dict[str, Any]]] | None = None
    """The e-mails moto's SES accepted (``shop.local.events.sent_mail``): served at ``/_local/mail``."""
    media: Callable[[str], tuple[bytes, str] | None] | None = None
    """Reads a product image by S3 key (CloudFront's /media/* behaviour: moto's S3 locally)."""


# An e-mail's HTML part is shown as the customer's mail client would: its inline styles, no scripts.
MAIL_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-ancestors 'none'"


class PooledHTTPServer(HTTPServer):
    """An HTTP server whose connections run on a fixed pool of long-lived threads.

    The socket is bound and listening (with :data:`LISTEN_BACKLOG`) as soon as it is constructed;
    connections queue in the kernel until :meth:`serve_forever` starts accepting them.
    """

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        config: GatewayConfig,
        threads: int = CONNECTION_THREADS,
        client_timeout: float = CLIENT_TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self.client_timeout = client_timeout
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gateway")
        super().__init__(address, GatewayHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._work, request, client_address)

    def _work(self, request: socket, client_address: Any) -> None:
        try:
            # Every read and write on the connection gives up after client_timeout (the handler
            # answers nothing to a request that never arrives and closes the connection).
            request.settimeout(self.client_timeout)
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)


class GatewayHandler(BaseHTTPRequestHandler):
    server: PooledHTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "shop-local"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    # ------------------------------------------------------------------ http.server's own errors

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every response http.server generates itself (malformed request line, 414, 431, unknown
        method, bad version) leaves in the platform's JSON error body with the security headers.

        An unknown method (no ``do_<METHOD>``) on a path the shop serves is 405 with ``Allow``; on
        any other path it is 501.
        """
        status, extra = int(code), {}
        command, path = getattr(self, "command", None) or "", getattr(self, "path", "") or ""
        if status == HTTPStatus.NOT_IMPLEMENTED and command:
            allow = self._allowed_methods(urlsplit(path).path or "/")
            if allow:
                status, extra = HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ", ".join(allow)}
        code_name, text = _HTTP_SERVER_ERRORS.get(status, ("bad_request", "the request is not valid HTTP"))
        details: dict[str, Any] = {"allowed": extra["Allow"].split(", ")} if extra else {}
        if status == HTTPStatus.NOT_IMPLEMENTED and command:
            text = f"method {command[:32]} is not implemented"
        request_id = self._incoming_request_id()
        self.close_connection = True
        if getattr(self, "request_version", "") == "HTTP/0.9":
            # A request line that failed to parse leaves http.server at HTTP/0.9, which would send
            # the body with no status line or headers at all; answer in HTTP/1.0 instead.
            self.request_version = "HTTP/1.0"
        log.info("%s %s %d (gateway: %s) %s", command or "-", path[:200] or "-", status, message or "", request_id)
        with contextlib.suppress(OSError):  # the client may be gone
            self._send(
                status,
                json.dumps(error_body(code_name, text, details)).encode(),
                {
                    "Content-Type": "application/json",
                    "Cache-Control": "no-store",
                    REQUEST_ID_HEADER: request_id,
                    **extra,
                },
            )

    def _allowed_methods(self, raw_path: str) -> tuple[str, ...]:
        """What a known path serves: its API routes (as the edge forwards them), or a storefront file."""
        if raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/"):
            public = tuple(route for route in ROUTES if served_behind_cloudfront(route))
            return route_methods(raw_path, public)
        root = self.server.config.storefront_dir.resolve()
        target = (root / unquote(raw_path).lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        return ("GET", "HEAD") if target.is_relative_to(root) and target.is_file() else ()

    def _incoming_request_id(self) -> str:
        headers = getattr(self, "headers", None)
        incoming = headers.get(REQUEST_ID_HEADER) if headers is not None else None
        if incoming and _REQUEST_ID.fullmatch(incoming):
            return str(incoming)
        return str(uuid.uuid4())

    # ------------------------------------------------------------------

    def _serve(self) -> None:
        started = time.perf_counter()
        status, request_id = 500, "-"
        try:
            status, request_id = self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away before the response was written
        except Exception:
            log.exception("gateway failure on %s %s", self.command, self.path)
            status = 500
            self._send_json(500, error_body("internal_error", "the local gateway failed", {}), request_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %d %.1fms %s", self.command, self.path[:200], status, elapsed, request_id)

    # Every method goes through the same path; the edge decides which are allowed.
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_TRACE = _serve  # noqa: N815

    def _dispatch(self) -> tuple[int, str]:
        split = urlsplit(self.path)
        raw_path, raw_query = split.path or "/", split.query
        cf_request: dict[str, Any] = {
            "clientIp": self.client_address[0],
            "method": self.command,
            "uri": raw_path,
            "querystring": raw_query,
            "headers": {},
        }
        for name, value in self.headers.items():
            cf_request["headers"].setdefault(name.lower(), []).append({"key": name, "value": value})
        result = edge.process(cf_request, self.server.config.edge)
        if "status" in result:
            headers = {entries[0]["key"]: entries[0]["value"] for entries in result["headers"].values()}
            request_id = headers.get(REQUEST_ID_HEADER, "-")
            self._send(int(result["status"]), result["body"].encode(), headers)
            return int(result["status"]), request_id

        request_id = result["headers"][edge.REQUEST_ID_KEY][0]["value"]
        forwarded = [(e["key"], e["value"]) for entries in result["headers"].values() for e in entries]
        if raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/"):
            return self._api(raw_path, raw_query, forwarded, request_id), request_id
        if self.server.config.mail is not None and (
            raw_path == LOCAL_MAIL_PATH or raw_path.startswith(LOCAL_MAIL_PATH + "/")
        ):
            return self._mail(raw_path, request_id), request_id
        return self._static(raw_path, request_id), request_id

    def _mail(self, raw_path: str, request_id: str) -> int:
        """The local mailbox: ``/_local/mail`` (list), ``/_local/mail/messages.json``, ``/_local/mail/<n>``
        (message n's HTML part, as the customer sees it)."""
        import html

        assert self.server.config.mail is not None
        if self.command not in ("GET", "HEAD"):
            self._send_json(405, error_body("method_not_allowed", "the mailbox is read-only", {}), request_id)
            return 405
        messages = self.server.config.mail()
        rest = raw_path[len(LOCAL_MAIL_PATH) :].strip("/")
        headers = {"Cache-Control": "no-store", REQUEST_ID_HEADER: request_id}
        if rest == "messages.json":
            self._send(200, json.dumps(messages).encode(), {**headers, "Content-Type": "application/json"})
            return 200
        if rest:
            found = [m for m in messages if str(m["index"]) == rest]
            if not found:
                self._send_json(404, error_body("not_found", "no such message", {}), request_id)
                return 404
            page = {**headers, "Content-Type": "text/html; charset=utf-8"}
            self._send(200, found[0]["html"].encode(), page, csp=MAIL_CONTENT_SECURITY_POLICY)
            return 200
        e = html.escape
        items = "".join(
            f"<li><h2><a href='{LOCAL_MAIL_PATH}/{m['index']}'>{e(m['subject'])}</a></h2>"
            f"<p>To {e(m.get('to', ''))} from {e(m.get('from', ''))}, {e(m.get('date', ''))}"
            f" (event {e(m.get('event_id', ''))})</p><pre>{e(m['text'])}</pre></li>"
            for m in reversed(messages)
        )
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Local mail</title></head><body>"
            f"<h1>E-mails sent ({len(messages)})</h1><p>What moto's SES accepted, newest first. Local only."
            f" <a href='{LOCAL_MAIL_PATH}/messages.json'>JSON</a></p><ol reversed>{items}</ol></body></html>"
        )
        self._send(200, body.encode(), {**headers, "Content-Type": "text/html; charset=utf-8"})
        return 200

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _api(self, raw_path: str, raw_query: str, headers: list[tuple[str, str]], request_id: str) -> int:
        body = self._read_body()
        if body is None:
            self._send_json(411, error_body("length_required", "send a Content-Length", {}), request_id)
            return 411
        event = api_gateway_event(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
            request_id=request_id,
        )
        invoke = self.server.config.invoke
        if invoke is None:
            self._send_json(503, error_body("service_unavailable", "the API is starting", {}), request_id)
            return 503
        try:
            response = invoke(event)
        except InvocationTimeoutError:
            log.error("the API function timed out on %s %s", self.command, raw_path)
            self._send_json(504, error_body("gateway_timeout", "the API did not answer in time", {}), request_id)
            return 504
        except WorkerFailureError:
            self._send_json(502, error_body("bad_gateway", "the API function failed", {}), request_id)
            return 502
        status = int(response.get("statusCode", 502))
        out: list[tuple[str, str]] = []
        for name, value in (response.get("headers") or {}).items():
            out.append((name, str(value)))
        for name, values in (response.get("multiValueHeaders") or {}).items():
            if any(name.lower() == n.lower() for n, _ in out):
                continue
            out.extend((name, str(v)) for v in values)
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        if not any(n.lower() == REQUEST_ID_HEADER.lower() for n, _ in out):
            out.append((REQUEST_ID_HEADER, request_id))
        self._send(status, payload, out)
        return status

    def _static(self, raw_path: str, request_id: str) -> int:
        if self.command not in ("GET", "HEAD"):
            self._send_json(405, error_body("method_not_allowed", "static files are read-only", {}), request_id)
            return 405
        if raw_path.startswith(f"/{MEDIA_PREFIX}/"):
            return self._media(unquote(raw_path).lstrip("/"), request_id)
        root = self.server.config.storefront_dir.resolve()
        relative = unquote(raw_path).lstrip("/") or "index.html"
        target = (root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file():
            self._send(
                404,
                b"<!doctype html><title>Not found</title><p>Not found. <a href='/'>Go to the shop</a></p>",
                {"Content-Type": "text/html; charset=utf-8", REQUEST_ID_HEADER: request_id},
            )
            return 404
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        headers = {"Content-Type": content_type, "Cache-Control": "no-cache", REQUEST_ID_HEADER: request_id}
        self._send(200, target.read_bytes(), headers)
        return 200

    def _media(self, key: str, request_id: str) -> int:
        reader = self.server.config.media
        found = reader(key) if reader is not None else None
        if found is None:
            self._send(404, b"Not found", {"Content-Type": "text/plain; charset=utf-8", REQUEST_ID_HEADER: request_id})
            return 404
        payload, content_type = found
        headers = {
            "Content-Type": content_type,
            "Cache-Control": "public, max-age=31536000, immutable",
            REQUEST_ID_HEADER: request_id,
        }
        self._send(200, payload, headers)
        return 200

    # ------------------------------------------------------------------

    def _send_json(self, status: int, body: dict[str, Any], request_id: str) -> None:
        self._send(
            status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", REQUEST_ID_HEADER: request_id},
        )

    def _send(
        self, status: int, payload: bytes, headers: dict[str, str] | list[tuple[str, str]], csp: str | None = None
    ) -> None:
        items = list(headers.items()) if isinstance(headers, dict) else list(headers)
        overridden = {name.lower() for name in SECURITY_HEADERS}
        self.send_response(status)
        for name, value in items:
            if name.lower() in ("content-length", "connection", "transfer-encoding") or name.lower() in overridden:
                continue
            self.send_header(name, value)
        for name, value in SECURITY_HEADERS.items():
            if name == "Content-Security-Policy":
                value = csp or self.server.config.content_security_policy
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
