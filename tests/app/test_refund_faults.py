"""Refunds when our commit fails after Stripe refunded: the retry must not refund twice.

localstripe ignores Idempotency-Key, so only our own reconciliation protects the shopper's money
and the shop's: each refund carries a deterministic reference in its metadata, and before creating
one the intent's refunds are listed (``shop.payments.stripe_gateway.StripeGateway.refund``). The
fault: a deferred constraint trigger makes the COMMIT of the transaction that records the refund
fail, after Stripe (localstripe) has refunded. Embedded PostgreSQL and localstripe, no mocks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shop import payments
from tests.app.conftest import Call
from tests.app.test_payments import _intent_object, _order, _paid_order, _pay, _post_event, _row, _stock

_FAIL_COMMIT = """
CREATE FUNCTION test_fail_refund_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'injected: the commit recording refund % fails', NEW.stripe_refund_id;
END $$;
CREATE CONSTRAINT TRIGGER test_fail_refund_commit AFTER INSERT ON refunds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_refund_commit();
"""
_HEAL = "DROP TRIGGER IF EXISTS test_fail_refund_commit ON refunds; DROP FUNCTION IF EXISTS test_fail_refund_commit();"


@pytest.fixture
def failing_commit(db: Any) -> Iterator[Any]:
    """While active, every transaction that records a refund fails at COMMIT (after Stripe answered)."""
    db.execute(_HEAL)
    db.execute(_FAIL_COMMIT)

    class Switch:
        def heal(self) -> None:
            db.execute(_HEAL)

    yield Switch()
    db.execute(_HEAL)


def stripe_refunds(intent_id: str) -> list[dict[str, Any]]:
    """What localstripe holds: every refund of the intent's charge."""
    listed = payments.gateway().client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    return [item.to_dict() for item in listed.auto_paging_iter()]


def _recorded(db: Any, order_id: str) -> list[tuple[int, str]]:
    rows = db.execute("SELECT amount_cents, stripe_refund_id FROM refunds WHERE order_id = %s", (order_id,))
    return [(int(amount), str(refund_id)) for amount, refund_id in rows.fetchall()]


def test_a_partial_refund_retried_after_a_failed_commit_refunds_once(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], failing_commit: Any
) -> None:
    order = _paid_order(rest, shop, db, stripe_env, "KIT-010")
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    path = f"/api/admin/orders/{order['order_id']}/refunds"
    key = {"Idempotency-Key": f"refund-{uuid.uuid4()}"}

    failed = admin("POST", path, body={"amount_cents": 1000}, headers=key)
    assert failed.status == 500 and failed.error_code == "internal_error"
    # Stripe refunded; we recorded nothing (the order is still paid, no refund row).
    assert [r["amount"] for r in stripe_refunds(intent_id)] == [1000]
    assert _row(db, order["order_id"]) == ("paid", intent_id, 0)
    assert _recorded(db, order["order_id"]) == []

    failing_commit.heal()
    retried = admin("POST", path, body={"amount_cents": 1000}, headers=key)
    assert retried.status == 200, retried.body
    assert (retried.body["status"], retried.body["refunded_cents"]) == ("partially_refunded", 1000)
    at_stripe = stripe_refunds(intent_id)
    assert [r["amount"] for r in at_stripe] == [1000]  # once, not twice
    assert _recorded(db, order["order_id"]) == [(1000, at_stripe[0]["id"])]
    # And a retry after the success returns the recorded result, still without calling Stripe to refund.
    assert admin("POST", path, body={"amount_cents": 1000}, headers=key).body == retried.body
    assert len(stripe_refunds(intent_id)) == 1


def test_a_cancel_retried_after_a_failed_commit_refunds_once_and_releases_stock_once(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], failing_commit: Any
) -> None:
    book = shop["BOK-200"]
    order = _paid_order(rest, shop, db, stripe_env, "BOK-200")
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    stock = _stock(db, book["id"])
    path = f"/api/admin/orders/{order['order_id']}/cancel"
    key = {"Idempotency-Key": f"cancel-{uuid.uuid4()}"}

    assert admin("POST", path, headers=key).status == 500
    assert [r["amount"] for r in stripe_refunds(intent_id)] == [order["total_cents"]]
    assert _row(db, order["order_id"])[0] == "paid" and _stock(db, book["id"]) == stock

    failing_commit.heal()
    retried = admin("POST", path, headers=key)
    assert retried.status == 200 and retried.body["status"] == "cancelled"
    assert retried.body["refunded_cents"] == order["total_cents"]
    assert [r["amount"] for r in stripe_refunds(intent_id)] == [order["total_cents"]]
    assert _stock(db, book["id"]) == stock + 1


def test_a_late_payment_refund_whose_webhook_commit_failed_is_refunded_once_on_redelivery(
    api: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], failing_commit: Any
) -> None:
    """A payment for an expired order is refunded inside the webhook's transaction; if that commit
    fails, the answer is a 5xx and Stripe redelivers the same event: one refund, not two."""
    from shop.domain import fulfilment

    hat = shop["HAT-101"]
    order = _order(api, {hat["id"]: 1})
    intent_id = _row(db, order["order_id"])[1]
    assert intent_id
    db.execute("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = %s", (order["order_id"],))
    assert _pay(intent_id) == "succeeded"
    assert order["order_id"] in fulfilment.expire(30 * 60)
    event = _intent_object(intent_id, order["order_id"], order["total_cents"])
    event_id = f"evt_late_{uuid.uuid4().hex[:12]}"

    first = _post_event(api, stripe_env, "payment_intent.succeeded", event, event_id=event_id)
    assert first.status >= 500  # not acknowledged: Stripe will redeliver
    assert len(stripe_refunds(intent_id)) == 1 and _recorded(db, order["order_id"]) == []
    assert db.execute("SELECT count(*) FROM stripe_events WHERE event_id = %s", (event_id,)).fetchone()[0] == 0

    failing_commit.heal()
    again = _post_event(api, stripe_env, "payment_intent.succeeded", event, event_id=event_id)
    assert again.status == 200 and again.body == {"received": True, "duplicate": False}
    at_stripe = stripe_refunds(intent_id)
    assert [r["amount"] for r in at_stripe] == [order["total_cents"]]
    assert _recorded(db, order["order_id"]) == [(order["total_cents"], at_stripe[0]["id"])]
    assert _row(db, order["order_id"])[0] == "cancelled"
