"""Every way the API can change an order's status, from every status: only the declared transitions
ever happen, and an operation whose transition is not in the list is refused (409
``invalid_transition``) with nothing written. HTTP operations (shopper cancel, admin cancel, refund,
fulfilment) and Stripe's events through the webhook endpoint; the real handler, embedded PostgreSQL
and localstripe. (``tests/app/test_lifecycle.py`` covers the database's own refusal.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shop.declarations import ORDER_STATES, ORDER_TRANSITIONS
from tests.app.conftest import Call, Reply
from tests.app.test_lifecycle import _force, _order, _status
from tests.app.test_payments import _intent_object, _post_event, _row

# How each source state is reached from pending_payment along allowed transitions.
PATHS = {
    "pending_payment": [],
    "paid": ["paid"],
    "fulfilled": ["paid", "fulfilled"],
    "cancelled": ["cancelled"],
    "refunded": ["paid", "refunded"],
    "partially_refunded": ["paid", "partially_refunded"],
}
# operation -> the status it asks for
HTTP_OPERATIONS = {
    "shopper_cancel": "cancelled",
    "admin_cancel": "cancelled",
    "admin_refund": "refunded",
    "admin_partial_refund": "partially_refunded",
    "fulfil": "fulfilled",
}
EVENTS = {
    "payment_intent.succeeded": "paid",
    "payment_intent.canceled": "cancelled",
    "charge.refunded": "refunded",
    "payment_intent.payment_failed": None,
}


def _history(db: Any, order_id: str) -> int:
    return int(db.execute("SELECT count(*) FROM order_history WHERE order_id = %s", (order_id,)).fetchone()[0])


def _call(operation: str, order: dict[str, Any], rest: Call, admin: Call) -> Reply:
    order_id, key = order["order_id"], {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    if operation == "shopper_cancel":
        return rest("POST", f"/api/orders/{order_id}/cancel", headers={"X-Order-Token": order["order_token"]})
    if operation == "admin_cancel":
        return admin("POST", f"/api/admin/orders/{order_id}/cancel", headers=key)
    if operation == "admin_refund":
        return admin("POST", f"/api/admin/orders/{order_id}/refunds", body={}, headers=key)
    if operation == "admin_partial_refund":
        return admin("POST", f"/api/admin/orders/{order_id}/refunds", body={"amount_cents": 100}, headers=key)
    body = {"carrier": "DHL", "tracking_reference": "JD0001"}
    return admin("POST", f"/api/admin/orders/{order_id}/fulfilment", body=body)


@pytest.mark.parametrize("source", ORDER_STATES)
def test_http_operations_make_only_declared_transitions_and_refuse_the_others(
    rest: Call, admin: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], source: str
) -> None:
    for operation, wanted in HTTP_OPERATIONS.items():
        order = _order(rest, {shop["SCK-102"]["id"]: 1})
        _force(db, order["order_id"], PATHS[source])
        history = _history(db, order["order_id"])
        reply = _call(operation, order, rest, admin)
        after = _status(db, order["order_id"])
        case = f"{operation} on a {source} order: {reply.status} {reply.body}"
        if after != source:
            assert (source, after) in ORDER_TRANSITIONS, case
            assert _history(db, order["order_id"]) == history + 1, case
        else:
            assert _history(db, order["order_id"]) == history, case
        if (source, wanted) not in ORDER_TRANSITIONS and source != wanted:
            assert (reply.status, reply.error_code) == (409, "invalid_transition"), case
            assert after == source, case
        if operation == "shopper_cancel" and source == "paid":
            # In the list (a full refund), but not the shopper's to make: refused the same way.
            assert (reply.status, reply.error_code, after) == (409, "invalid_transition", "paid"), case


@pytest.mark.parametrize("source", ORDER_STATES)
def test_webhook_events_make_only_declared_transitions(
    rest: Call, shop: dict[str, dict[str, Any]], db: Any, stripe_env: dict[str, str], source: str
) -> None:
    for event_type, wanted in EVENTS.items():
        if (source, event_type) == ("cancelled", "payment_intent.succeeded"):
            continue  # a late payment: refunded automatically (tests/app/test_payments.py, a real charge)
        order = _order(rest, {shop["SCK-102"]["id"]: 1})
        _force(db, order["order_id"], PATHS[source])
        intent_id = _row(db, order["order_id"])[1]
        assert intent_id
        history = _history(db, order["order_id"])
        if event_type == "charge.refunded":
            refunded = order["total_cents"]
            obj = {"id": "ch_x", "object": "charge", "payment_intent": intent_id, "amount_refunded": refunded}
        else:
            obj = _intent_object(intent_id, order["order_id"], order["total_cents"])
        reply = _post_event(rest, stripe_env, event_type, obj)
        after = _status(db, order["order_id"])
        case = f"{event_type} on a {source} order: {reply.status} {reply.body}"
        assert reply.status == 200, case  # acknowledged: Stripe must not retry an event we decided on
        if after != source:
            assert (source, after) in ORDER_TRANSITIONS and after == wanted, case
            assert _history(db, order["order_id"]) == history + 1, case
        else:
            assert _history(db, order["order_id"]) == history, case
        if (source, wanted) not in ORDER_TRANSITIONS:
            assert after == source, case
