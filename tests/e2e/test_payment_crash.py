"""Crash safety of payments on the local platform: Stripe has taken the money and its webhook is on
its way when the platform is SIGKILLed. The delivery fails (localstripe sends each event once, with
no retry), and after the restart the platform's payment replay (``python -m shop.payments.replay``,
which ``make dev`` also runs at every start) brings the order to ``paid``, exactly once.

localstripe is a child of the platform and keeps its objects in memory plus
``<data-dir>/localstripe.pickle`` (written after every change): the killed platform's localstripe
is stopped by the test, and the restarted platform's localstripe loads the succeeded intent from
that file, as ``make dev`` does after any restart. The webhook is routed through a holding proxy
here so the kill lands, deterministically, after Stripe's success and before our processing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from shop.declarations import ORDER_TOKEN_HEADER, STRIPE_WEBHOOK_PATH
from shop.local.services import LOCAL_STRIPE_PUBLISHABLE_KEY, LOCAL_STRIPE_SECRET_KEY, LOCALSTRIPE_WEBHOOK_ID
from tests.app.events import ADDRESS
from tests.e2e.conftest import LocalPlatform, api

pytestmark = pytest.mark.e2e


class HoldingProxy:
    """Stands between localstripe and the gateway: holds each delivery until released, then forwards it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.events: list[dict[str, Any]] = []
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.events.append(json.loads(body))
                proxy.arrived.set()
                proxy.release.wait(60)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "stripe-signature")}
                try:
                    answer = requests.post(proxy.target, data=body, headers=headers, timeout=5)
                    status, outcome = answer.status_code, str(answer.status_code)
                except requests.RequestException as error:
                    status, outcome = 502, type(error).__name__
                proxy.forwarded.append(outcome)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def printed(platform: LocalPlatform, name: str) -> str:
    found = re.search(rf"^\s+{name}\s+(\S+)", platform.log_path.read_text(errors="replace"), re.M)
    assert found, platform.output()
    return found.group(1)


def children(pid: int) -> dict[int, str]:
    """Every live descendant of ``pid``: pid -> command line (to stop what a SIGKILL leaves behind)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


def stop_leftovers(recorded: dict[int, str], only: str = "") -> None:
    """SIGKILL the processes recorded earlier that still run the same command (and contain ``only``)."""
    for pid, command in recorded.items():
        with contextlib.suppress(OSError):
            current = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if current == command and only in command:
                os.kill(pid, signal.SIGKILL)


def order_status(database_url: str, order_id: str) -> str:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT status FROM orders WHERE id = %s", (order_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_payment_whose_webhook_died_with_the_platform_is_paid_after_the_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = LocalPlatform(data_dir).start()
    recorded: dict[int, str] = {}
    proxy = HoldingProxy(first.url + STRIPE_WEBHOOK_PATH)
    try:
        # The start-up replay (a thread, after "ready") must be done before the payment, or it may
        # find the intent succeeded and pay the order itself, before the webhook this test holds.
        deadline = time.monotonic() + 30
        while "payment replay: pending orders checked at start" not in first.output():
            assert time.monotonic() < deadline, first.output()
            time.sleep(0.1)
        stripe_url, database_url = printed(first, "stripe"), printed(first, "postgres")
        catalog = api(first, "GET", "/api/products", params={"limit": 100}).json()["items"]
        product = next(p for p in catalog if p["stock"] >= 2)
        cart = api(first, "POST", "/api/carts").json()
        assert api(first, "PUT", f"/api/carts/{cart['cart_id']}/items/{product['id']}", json={"quantity": 1}).ok
        placed = api(
            first,
            "POST",
            "/api/checkout",
            json={"cart_id": cart["cart_id"], "email": "crash@example.com", "shipping_address": ADDRESS},
            headers={"Idempotency-Key": "crash-test-1"},
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()
        intent_id = order["client_secret"].split("_secret_")[0]

        # localstripe now delivers to the proxy (the platform registered itself at start).
        registered = requests.post(
            f"{stripe_url}/_config/webhooks/{LOCALSTRIPE_WEBHOOK_ID}",
            data={"url": proxy.url, "secret": "whsec_crash_test_0000000000"},
            auth=(LOCAL_STRIPE_SECRET_KEY, ""),
            timeout=5,
        )
        registered.raise_for_status()
        # The shopper pays, as the storefront's Stripe.js does: Stripe has the money.
        confirmed = requests.post(
            f"{stripe_url}/v1/payment_intents/{intent_id}/confirm",
            data=json.dumps(
                {
                    "key": LOCAL_STRIPE_PUBLISHABLE_KEY,
                    "client_secret": order["client_secret"],
                    "payment_method_data": {
                        "type": "card",
                        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                    },
                }
            ),
            timeout=10,
        )
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
        # Its webhook is in flight ...
        assert proxy.arrived.wait(15), "localstripe sent no webhook"
        assert proxy.events[0]["type"] == "payment_intent.succeeded"
        assert proxy.events[0]["data"]["object"]["id"] == intent_id
        # ... when the platform dies.
        recorded = children(first.process.pid)  # type: ignore[union-attr]
        first.kill()
        proxy.release.set()
        deadline = time.monotonic() + 15
        while not proxy.forwarded:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert proxy.forwarded == ["ConnectionError"], "the delivery should have found nobody listening"
        # The killed run's PostgreSQL still answers: the order never learnt of the payment.
        assert order_status(database_url, order["order_id"]) == "pending_payment"
    finally:
        proxy.close()
        # The killed run's localstripe (its state is in the data directory) must not outlive it.
        stop_leftovers(recorded, only="shop.local.localstripe_server")

    second = LocalPlatform(data_dir).start()
    try:
        token = {ORDER_TOKEN_HEADER: order["order_token"]}
        deadline = time.monotonic() + 30
        read = f"/api/orders/{order['order_id']}"
        while (body := api(second, "GET", read, headers=token).json())["status"] != "paid":
            assert time.monotonic() < deadline, f"not paid after the restart: {body}"
            time.sleep(0.2)
        # Paid once, by the replay of the intent localstripe kept in the data directory.
        paid = [entry for entry in body["history"] if entry["to_status"] == "paid"]
        assert [entry["cause"] for entry in paid] == [f"stripe:replay:{intent_id}:succeeded"]
        assert body["total_cents"] == order["total_cents"]
        after = api(second, "GET", f"/api/products/{product['id']}").json()
        assert after["stock"] == product["stock"] - 1  # reserved once, not released, not taken twice
        assert "replayed 1 settled payment(s)" in second.output()
    finally:
        assert second.stop() == 0, second.output()
        stop_leftovers(recorded)
