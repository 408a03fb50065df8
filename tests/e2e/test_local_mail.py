"""``make dev`` sends the customer's e-mails through the whole local chain (outbox → relay thread →
moto's EventBridge → rule → SQS → notifier thread → moto's SES) and shows them at ``/_local/mail``."""

from __future__ import annotations

import time
from typing import Any

from shop.declarations import LOCAL_MAIL_PATH
from tests.app.events import ADDRESS
from tests.e2e.conftest import LocalPlatform, api


def _order(platform: LocalPlatform) -> dict[str, Any]:
    products = api(platform, "GET", "/api/products").json()["items"]
    product = next(p for p in products if p["stock"] > 0)
    cart = api(platform, "POST", "/api/carts").json()["cart_id"]
    put = api(platform, "PUT", f"/api/carts/{cart}/items/{product['id']}", json={"quantity": 1})
    assert put.status_code == 200, put.text
    body = {"cart_id": cart, "email": "mailbox@example.com", "shipping_address": ADDRESS}
    placed = api(platform, "POST", "/api/checkout", json=body)
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


def _mail_for(platform: LocalPlatform, order_id: str, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        messages = api(platform, "GET", f"{LOCAL_MAIL_PATH}/messages.json").json()
        found = [m for m in messages if order_id in m["text"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_cancelled_order_is_mailed_and_listed_at_local_mail(local_platform: LocalPlatform) -> None:
    order = _order(local_platform)
    cancel = api(
        local_platform,
        "POST",
        f"/api/orders/{order['order_id']}/cancel",
        headers={"X-Order-Token": order["order_token"]},
    )
    assert cancel.status_code == 200, cancel.text
    mails = _mail_for(local_platform, order["order_id"])
    assert [m["subject"].rsplit(" ", 1)[1] for m in mails] == ["cancelled"]  # OrderPlaced sends nothing
    mail = mails[0]
    assert mail["to"] == "mailbox@example.com" and mail["event_id"]
    assert order["order_id"] in mail["html"]

    page = api(local_platform, "GET", LOCAL_MAIL_PATH)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert mail["subject"] in page.text and page.headers["Cache-Control"] == "no-store"
    part = api(local_platform, "GET", f"{LOCAL_MAIL_PATH}/{mail['index']}")
    assert part.status_code == 200 and part.text == mail["html"]
    assert "script-src" not in part.headers["Content-Security-Policy"]  # default-src 'none': no scripts
    assert api(local_platform, "POST", LOCAL_MAIL_PATH).status_code == 405
    assert api(local_platform, "GET", f"{LOCAL_MAIL_PATH}/999999").status_code == 404
