"""Checkout with payment, Stripe webhooks, late payments, refunds and cancellation: the real handler
against embedded PostgreSQL, the moto server's SSM and localstripe (no mocks)."""

from __future__ import annotations

import contextlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shop import payments
from tests.app.conftest import Call, Reply
from tests.app.events import ADDRESS
from tests.stripe_support import signed_event

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"
WEBHOOK = "/api/webhooks/stripe"


def _cart_with(api: Call, lines: dict[str, int]) -> str:
    cart = api("POST", "/api/carts").body["cart_id"]
    for product_id, quantity in lines.items():
        assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return str(cart)


def _checkout(api: Call, cart: str, key: str | None = None) -> Reply:
    headers = {"Idempotency-Key": key} if key else None
    body = {"cart_id": cart, "email": "pay@example.com", "shipping_address": ADDRESS}
    return api("POST", "/api/checkout", body=body, headers=headers)


def _order(api: Call, lines: dict[str, int]) -> dict[str, Any]:
    reply = _checkout(api, _cart_with(api, lines), f"k-{uuid.uuid4()}")
    assert reply.status == 201, reply.body
    return dict(reply.body)


def _row(db: Any, order_id: str) -> tuple[str, str | None, int]:
    row = db.execute("SELECT status, payment_intent_id, refunded_cents FROM orders WHERE id = %s", (order_id,))
    status, intent, refunded = row.fetchone()
    return str(status), intent, int(refunded)


def _stock(db: Any, product_id: str) -> int:
    return int(db.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0])


def _pay(intent_id: str, card: str = CARD_OK) -> str:
    """Pay the intent in localstripe as Stripe.js would (payment method first, then confirm)."""
    client = payments.gateway().client()
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}}
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    with contextlib.suppress(Exception):  # a declined card raises; the intent's status says what happened
        client.v1.payment_intents.confirm(intent_id)
    return payments.retrieve_intent(intent_id).status


def _post_event(api: Call, stripe_env: dict[str, str], event_type: str, obj: dict[str, Any], **kwargs: Any) -> Reply:
    body, signature = signed_event(event_type, obj, stripe_env["webhook_secret"], **kwargs)
    return api("POST", WEBHOOK, raw_body=body.decode(), headers={"Stripe-Signature": signature})


def _intent_object(intent_id: str, order_id: str, amount: int) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "metadata": {"order_id": order_id},
        "status": "succeeded",
    }


def test_checkout_creates_one_intent_and_a_retry_reuses_it(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    mug = shop["MUG-001"]
    cart = _cart_with(api, {mug["id"]: 2})
    key = f"k-{uuid.uuid4()}"
    first = _checkout(api, cart, key)
    assert first.status == 201 and first.body["status"] == "pending_payment"
    assert first.body["client_secret"]
    intent_id = _row(db, first.body["order_id"])[1]
    assert intent_id and intent_id.startswith("pi_")
    intent = payments.retrieve_intent(intent_id)
    assert (intent.amount_cents, intent.currency, intent.order_id) == (
        first.body["total_cents"],
        "usd",
        first.body["order_id"],
    )
    retries = [_checkout(api, cart, key) for _ in range(3)]
    assert all(r.status == 201 and r.body["order_id"] == first.body["order_id"] for r in retries)
    assert all(r.body["client_secret"] == first.body["client_secret"] for r in retries)
    assert _row(db, first.body["order_id"])[1] == intent_id  # the same intent, not a second one
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    assert _stock(db, mug["id"]) == mug["stock"] - 2  # reserved once


def test_concurrent_retries_create_one_intent(rest: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    cart = _cart_with(rest, {shop["TEE-100"]["id"]: 1})
    key = f"k-{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: _checkout(rest, cart, key), range(8)))
    ok = [r for r in replies if r.status == 201]
    assert ok and {r.body["client_secret"] for r in ok} == {ok[0].body["client_secret"]}
    assert all(r.status == 201 or r.error_code == "request_in_progress" for r in replies)
    assert db.execute("SELECT count(*) FROM orders WHERE payment_intent_id IS NOT NULL").fetchone()[0] == 1


def test_payment_success_webhook_marks_the_order_paid_once(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    order = _order(api, {shop["MUG-001"]["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id and _pay(intent_id) == "succeeded"
    obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
    event_id = f"evt_{uuid.uuid4().hex}"
    reply = _post_event(api, stripe_env, "payment_intent.succeeded", obj, event_id=event_id)
    assert reply.status == 200 and reply.body == {"received": True, "duplicate": False}
    assert _row(db, order["order_id"])[0] == "paid"
    again = _post_event(api, stripe_env, "payment_intent.succeeded", obj, event_id=event_id)
    assert again.status == 200 and again.body["duplicate"] is True
    history = api("GET", f"/api/orders/{order['order_id']}", headers={"X-Order-Token": order["order_token"]}).body
    assert [(h["to_status"], h["cause"]) for h in history["history"]] == [
        ("pending_payment", "checkout"),
        ("paid", f"stripe:{event_id}"),
    ]


def test_forged_stale_and_unsigned_webhooks_are_400_and_change_nothing(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    import time

    order = _order(api, {shop["MUG-001"]["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
    body, _ = signed_event("payment_intent.succeeded", obj, "whsec_forged_000000000000")
    forged = api("POST", WEBHOOK, raw_body=body.decode(), headers={"Stripe-Signature": _})
    stale = _post_event(api, stripe_env, "payment_intent.succeeded", obj, timestamp=int(time.time()) - 3600)
    unsigned = api("POST", WEBHOOK, raw_body=body.decode())
    for reply in (forged, stale, unsigned):
        assert (reply.status, reply.error_code) == (400, "webhook_rejected"), reply.body
    assert stale.body["error"]["details"] == {"reason": "stale"}
    assert _row(db, order["order_id"])[0] == "pending_payment"
    assert db.execute("SELECT count(*) FROM stripe_events").fetchone()[0] == 0


def test_unknown_intent_is_acknowledged_and_changes_nothing(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    order = _order(api, {shop["MUG-001"]["id"]: 1})
    reply = _post_event(api, stripe_env, "payment_intent.succeeded", _intent_object("pi_unknown", "not-ours", 100))
    assert reply.status == 200
    assert _row(db, order["order_id"])[0] == "pending_payment"
    assert db.execute("SELECT outcome FROM stripe_events").fetchone()[0] == "unknown_order"


def test_out_of_order_events_do_not_move_an_order_backwards(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    lamp = shop["LMP-300"]
    order = _order(api, {lamp["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id and _pay(intent_id) == "succeeded"
    obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
    # An early refund (before the success arrived): Stripe says the intent succeeded, so the order
    # becomes paid, then partially refunded; the late success then changes nothing.
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": intent_id,
        "amount": order["total_cents"],
        "amount_refunded": 500,
    }
    assert _post_event(api, stripe_env, "charge.refunded", charge).status == 200
    assert _row(db, order["order_id"]) == ("partially_refunded", intent_id, 500)
    assert _post_event(api, stripe_env, "payment_intent.succeeded", obj).status == 200
    failed = {**obj, "status": "requires_payment_method"}
    assert _post_event(api, stripe_env, "payment_intent.payment_failed", failed).status == 200
    assert _post_event(api, stripe_env, "payment_intent.canceled", {**obj, "status": "canceled"}).status == 200
    assert _row(db, order["order_id"]) == ("partially_refunded", intent_id, 500)
    assert _stock(db, lamp["id"]) == lamp["stock"] - 1


def test_failed_payment_keeps_the_order_payable_and_cancel_event_releases_stock(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    lamp = shop["LMP-300"]
    order = _order(api, {lamp["id"]: 2})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id and _pay(intent_id, CARD_DECLINED_ON_CHARGE) != "succeeded"
    obj = {**_intent_object(intent_id, order["order_id"], order["total_cents"]), "status": "requires_payment_method"}
    assert _post_event(api, stripe_env, "payment_intent.payment_failed", obj).status == 200
    assert _row(db, order["order_id"])[0] == "pending_payment"
    assert _stock(db, lamp["id"]) == lamp["stock"] - 2  # still reserved: the shopper may try another card
    assert _post_event(api, stripe_env, "payment_intent.canceled", {**obj, "status": "canceled"}).status == 200
    assert _row(db, order["order_id"])[0] == "cancelled"
    assert _stock(db, lamp["id"]) == lamp["stock"]


def test_a_payment_after_expiry_is_refunded_automatically_and_never_oversells(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    from shop.domain import fulfilment

    blanket = shop["BLK-301"]  # stock 6
    order = _order(api, {blanket["id"]: blanket["stock"]})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    db.execute("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = %s", (order["order_id"],))
    # Confirm in the browser just before the job runs: Stripe has the money, the job cancels anyway
    # (its cancel of the intent fails quietly on a succeeded intent).
    assert _pay(intent_id) == "succeeded"
    assert fulfilment.expire(30 * 60) == [order["order_id"]]
    assert _stock(db, blanket["id"]) == blanket["stock"]
    rival = _order(api, {blanket["id"]: blanket["stock"]})  # someone else buys it all meanwhile
    obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
    reply = _post_event(api, stripe_env, "payment_intent.succeeded", obj)
    assert reply.status == 200
    status, _, _ = _row(db, order["order_id"])
    assert status == "cancelled"
    refunds = db.execute("SELECT amount_cents, stripe_refund_id FROM refunds WHERE order_id = %s", (order["order_id"],))
    amount, refund_id = refunds.fetchone()
    assert amount == order["total_cents"] and refund_id
    assert _stock(db, blanket["id"]) == 0 and _row(db, rival["order_id"])[0] == "pending_payment"
    assert _post_event(api, stripe_env, "payment_intent.succeeded", obj).status == 200  # a new event id
    assert db.execute("SELECT count(*) FROM refunds WHERE order_id = %s", (order["order_id"],)).fetchone()[0] == 1


def _paid_order(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], sku: str
) -> dict[str, Any]:
    order = _order(api, {shop[sku]["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id and _pay(intent_id) == "succeeded"
    obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
    assert _post_event(api, stripe_env, "payment_intent.succeeded", obj).status == 200
    assert _row(db, order["order_id"])[0] == "paid"
    return order


def test_admin_partial_refund_is_idempotent_and_needs_a_paid_order(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    order = _paid_order(rest, shop, db, stripe_env, "KIT-010")
    path = f"/api/admin/orders/{order['order_id']}/refunds"
    key = {"Idempotency-Key": f"r-{uuid.uuid4()}"}
    assert rest("POST", path, body={"amount_cents": 1000}, headers=key).status == 401  # no API key, no token
    assert admin("POST", path, body={"amount_cents": 1000}).status == 422  # the key is required
    first = admin("POST", path, body={"amount_cents": 1000}, headers=key)
    assert first.status == 200 and (first.body["status"], first.body["refunded_cents"]) == ("partially_refunded", 1000)
    again = admin("POST", path, body={"amount_cents": 1000}, headers=key)
    assert again.status == 200 and again.body == first.body
    assert db.execute("SELECT count(*) FROM refunds WHERE order_id = %s", (order["order_id"],)).fetchone()[0] == 1
    other = admin("POST", path, body={"amount_cents": 1000}, headers={"Idempotency-Key": "another"})
    assert (other.status, other.error_code) == (409, "invalid_transition")
    too_much = _paid_order(rest, shop, db, stripe_env, "KIT-010")
    big = admin("POST", f"/api/admin/orders/{too_much['order_id']}/refunds", body={"amount_cents": 10**7}, headers=key)
    assert big.status == 422 and _row(db, too_much["order_id"])[0] == "paid"


def test_admin_full_refund_and_cancel_of_a_paid_order(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    refunded = _paid_order(rest, shop, db, stripe_env, "BOK-200")
    reply = admin(
        "POST", f"/api/admin/orders/{refunded['order_id']}/refunds", body={}, headers={"Idempotency-Key": "f1"}
    )
    assert reply.status == 200 and reply.body["status"] == "refunded"
    assert reply.body["refunded_cents"] == refunded["total_cents"]
    book = shop["BOK-200"]
    cancelled = _paid_order(rest, shop, db, stripe_env, "BOK-200")
    before = _stock(db, book["id"])
    path = f"/api/admin/orders/{cancelled['order_id']}/cancel"
    reply = admin("POST", path, headers={"Idempotency-Key": "c1"})
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    assert reply.body["refunded_cents"] == cancelled["total_cents"]
    assert _stock(db, book["id"]) == before + 1
    assert admin("POST", path, headers={"Idempotency-Key": "c1"}).body == reply.body  # idempotent
    assert _stock(db, book["id"]) == before + 1
    # A refund we started does not wait for charge.refunded; when it comes, nothing changes.
    intent_id = _row(db, cancelled["order_id"])[1]
    charge = {
        "id": "ch_2",
        "object": "charge",
        "payment_intent": intent_id,
        "amount_refunded": cancelled["total_cents"],
    }
    assert _post_event(rest, stripe_env, "charge.refunded", charge).status == 200
    assert _row(db, cancelled["order_id"])[0] == "cancelled"


def test_shopper_cancel_cancels_the_intent(api: Call, shop: dict[str, dict[str, Any]], db: Any) -> None:
    order = _order(api, {shop["MUG-002"]["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    reply = api("POST", f"/api/orders/{order['order_id']}/cancel", headers={"X-Order-Token": order["order_token"]})
    assert reply.status == 200 and reply.body["status"] == "cancelled"
    assert payments.retrieve_intent(intent_id).status == "canceled"


@pytest.mark.parametrize("raw", ["not json", json.dumps([1, 2])])
def test_signed_garbage_is_400(rest: Call, shop: Any, stripe_env: dict[str, str], raw: str) -> None:
    from tests.stripe_support import stripe_signature

    reply = rest(
        "POST",
        WEBHOOK,
        raw_body=raw,
        headers={"Stripe-Signature": stripe_signature(raw.encode(), stripe_env["webhook_secret"])},
    )
    assert (reply.status, reply.error_code) == (400, "webhook_rejected")


def test_a_lost_webhook_is_recovered_by_the_replay_command(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stripe took the money but our webhook processing never happened (localstripe's delivery went
    nowhere, as when the platform is down): the documented replay brings the order to paid, once."""
    from shop.payments import replay

    order = _order(rest, {shop["HAT-101"]["id"]: 1})
    waiting = _order(rest, {shop["HAT-101"]["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id and _pay(intent_id) == "succeeded"
    assert _row(db, order["order_id"])[0] == "pending_payment"  # no webhook reached us
    assert replay.main([]) == 0
    assert f"{order['order_id']}: payment_intent.succeeded" in capsys.readouterr().out
    assert _row(db, order["order_id"])[0] == "paid"
    assert _row(db, waiting["order_id"])[0] == "pending_payment"  # its intent is still unpaid
    assert replay.replay() == {}  # nothing twice


def test_shoppers_race_for_the_last_units_and_exactly_that_many_are_paid(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str]
) -> None:
    from shop.domain import fulfilment

    units, shoppers = 3, 8
    jacket = shop["JKT-103"]
    db.execute("UPDATE products SET stock = %s WHERE id = %s", (units, jacket["id"]))
    carts = [_cart_with(rest, {jacket["id"]: 1}) for _ in range(shoppers)]
    with ThreadPoolExecutor(shoppers) as pool:
        replies = list(pool.map(lambda cart: _checkout(rest, cart, f"k-{cart}"), carts))
    won = [r.body for r in replies if r.status == 201]
    assert len(won) == units and all(r.error_code == "out_of_stock" for r in replies if r.status != 201)
    # One winner abandons: its reservation expires and the unit goes back on sale.
    db.execute("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = %s", (won[0]["order_id"],))
    assert fulfilment.expire(30 * 60) == [won[0]["order_id"]]
    assert _stock(db, jacket["id"]) == 1
    late = [_cart_with(rest, {jacket["id"]: 1}) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        second = list(pool.map(lambda cart: _checkout(rest, cart, f"k-{cart}"), late))
    won2 = [r.body for r in second if r.status == 201]
    assert len(won2) == 1
    for order in won[1:] + won2:
        intent_id = _row(db, order["order_id"])[1]
        assert intent_id and _pay(intent_id) == "succeeded"
        obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
        assert _post_event(rest, stripe_env, "payment_intent.succeeded", obj).status == 200
    paid = db.execute(
        "SELECT coalesce(sum(l.quantity), 0) FROM orders o JOIN order_lines l ON l.order_id = o.id"
        " WHERE o.status = 'paid' AND l.product_id = %s",
        (jacket["id"],),
    ).fetchone()[0]
    assert paid == units and _stock(db, jacket["id"]) == 0
    assert fulfilment.expire(0) == []  # nothing pending is left to leak
