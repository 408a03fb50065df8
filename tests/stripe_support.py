"""Test support for payments: events signed exactly as Stripe signs them, and a webhook receiver.

Not production code. localstripe sends ``payment_intent.succeeded`` and ``payment_intent.payment_failed``
itself but never ``payment_intent.canceled`` or ``charge.refunded``; tests post those (and forged,
stale, duplicate ones) with :func:`signed_event`.

Stripe's scheme (its "Check the webhook signatures" docs): header ``Stripe-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 with the endpoint secret over "<t>.<raw body>">``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload`` with endpoint ``secret``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_payload(event_type: str, data_object: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Stripe event body (``object: event``) of ``event_type`` about ``data_object``."""
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": data_object},
    }
    return json.dumps(event).encode()


def signed_event(
    event_type: str,
    data_object: dict[str, Any],
    secret: str,
    *,
    event_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, str]:
    """(body, Stripe-Signature header) of an event signed with ``secret`` at ``timestamp`` (now)."""
    payload = event_payload(event_type, data_object, event_id=event_id)
    return payload, stripe_signature(payload, secret, timestamp)


@dataclass
class Delivery:
    path: str
    body: bytes
    signature: str | None


@dataclass
class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 that records what is POSTed to it (as localstripe delivers)."""

    server: ThreadingHTTPServer
    deliveries: queue.Queue[Delivery] = field(default_factory=queue.Queue)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def next(self, timeout: float = 10) -> Delivery:
        return self.deliveries.get(timeout=timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> WebhookReceiver:
    deliveries: queue.Queue[Delivery] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            deliveries.put(Delivery(self.path, body, self.headers.get("Stripe-Signature")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return WebhookReceiver(server, deliveries)
