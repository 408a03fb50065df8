"""Payments for orders: one PaymentIntent per order, webhooks applied once, refunds we start.

* **Intent per order.** After checkout commits the ``pending_payment`` order (stock reserved),
  :func:`ensure_intent` locks the order row, creates the PaymentIntent only if the order has none,
  and stores its id in the same transaction. A retried checkout finds the id and retrieves the intent
  (for its client secret): no second intent, no second reservation, whatever Stripe does with
  Idempotency-Key (localstripe ignores it).
* **Webhooks** (:func:`apply_event`): the event id is inserted into ``stripe_events`` in the same
  transaction as its effect; a duplicate finds its row and changes nothing. Events act only through
  guarded transitions, so an old or out-of-order event cannot move an order backwards.
* **Late payments.** A payment that succeeds for an order that is already ``cancelled`` (its
  reservation expired, or the shopper cancelled) is refunded in full, automatically, inside the
  webhook's transaction: if the refund fails, nothing commits and Stripe redelivers. We never
  re-reserve: the stock may have been sold meanwhile, and a refund never oversells.
* **Refunds we start** (:func:`refund`, :func:`admin_cancel`) take Stripe's answer as authoritative and
  do not wait for ``charge.refunded``; each is recorded in ``refunds`` under the admin request's key,
  so a retry returns the recorded result and refunds nothing twice. If the commit failed after
  Stripe refunded, the retry finds nothing recorded, but ``shop.payments.refund`` finds Stripe's
  refund by its reference (same intent, same key) and returns it instead of refunding again.
"""

from __future__ import annotations

from typing import Any

from shop import payments
from shop.api import observability as obs
from shop.api.errors import NotFoundError, ValidationFailedError
from shop.api.models import Order
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache, lifecycle, orders
from shop.domain.catalog import parse_uuid
from shop.domain.fulfilment import cancel_pending

CURRENCY = "usd"
_INSERT_REFUND = """
INSERT INTO refunds (order_id, request_key, amount_cents, stripe_refund_id, cause) VALUES (%s, %s, %s, %s, %s)
"""


# ---------------------------------------------------------------------------- checkout
def ensure_intent(order_id: str, total_cents: int, request_key: str | None) -> str | None:
    """The client secret of the order's PaymentIntent, created once (None when nothing is payable)."""

    def work(conn: DictConnection) -> tuple[str | None, str | None]:
        """(intent id already stored, or None) / (client secret of the one created now, or None).

        The row lock is held across Stripe's create only, so concurrent retries wait for the first
        one's intent instead of creating their own; retries after that never take the lock."""
        row = lifecycle.status_of(conn, order_id)
        if row is None or row["status"] != "pending_payment":
            return None, None
        if row["payment_intent_id"]:
            return row["payment_intent_id"], None
        with conn.transaction():
            row = lifecycle.status_of(conn, order_id, lock=True)
            if row is None or row["status"] != "pending_payment":
                return None, None
            if row["payment_intent_id"]:
                return row["payment_intent_id"], None
            intent = payments.create_intent(order_id, total_cents, CURRENCY, request_key or order_id)
            conn.execute("UPDATE orders SET payment_intent_id = %s WHERE id = %s", (intent.id, order_id))
            obs.logger().info("payment intent created", extra={"order_id": order_id, "intent_id": intent.id})
            return None, intent.client_secret

    stored, secret = run(Role.WRITER, work)
    if stored:
        return payments.retrieve_intent(stored).client_secret
    return secret


# ---------------------------------------------------------------------------- webhooks
_RECORD_SQL = """
INSERT INTO stripe_events (event_id, type, order_id, outcome) VALUES (%s, %s, %s, 'processing')
ON CONFLICT (event_id) DO NOTHING RETURNING event_id
"""


def _order_for(conn: DictConnection, event: payments.WebhookEvent) -> dict[str, Any] | None:
    """The order the event is about (locked): by intent id, else by the intent's metadata order id."""
    if event.intent_id:
        row = conn.execute(
            "SELECT id::text AS id FROM orders WHERE payment_intent_id = %s", (event.intent_id,)
        ).fetchone()
        if row:
            return lifecycle.status_of(conn, row["id"], lock=True)
    candidate = parse_uuid(event.order_id or "")
    return lifecycle.status_of(conn, candidate, lock=True) if candidate else None


def _refund_late(conn: DictConnection, order: dict[str, Any], intent_id: str, amount: int, cause: str) -> str:
    """Refund a payment that arrived for an order we no longer honour (in the caller's transaction)."""
    key = f"late:{intent_id}"
    exists = conn.execute(
        "SELECT 1 FROM refunds WHERE order_id = %s AND request_key = %s", (order["id"], key)
    ).fetchone()
    if exists:
        return "late_payment_already_refunded"
    refund = payments.refund(intent_id, None, key)
    conn.execute(
        _INSERT_REFUND,
        (order["id"], key, refund.amount_cents or amount, refund.id, cause),
    )
    obs.count("LatePaymentsRefunded")
    obs.logger().warning("late payment refunded", extra={"order_id": order["id"], "intent_id": intent_id})
    return "late_payment_refunded"


def _succeeded(conn: DictConnection, order: dict[str, Any], event: payments.WebhookEvent, cause: str) -> str:
    intent_id = event.intent_id or ""
    amount = int(event.data_object.get("amount_received") or event.data_object.get("amount") or 0)
    if order["payment_intent_id"] not in (None, intent_id):
        return _refund_late(conn, order, intent_id, amount, cause)  # a stray second intent
    if order["status"] == "pending_payment":
        if order["payment_intent_id"] is None:
            conn.execute("UPDATE orders SET payment_intent_id = %s WHERE id = %s", (intent_id, order["id"]))
        lifecycle.move(conn, order["id"], "pending_payment", "paid", cause)
        obs.count("OrdersPaid")
        return "paid"
    if order["status"] == "cancelled" and not order["refunded_cents"]:
        return _refund_late(conn, order, intent_id, amount, cause)
    return "no_change"


def _refunded(conn: DictConnection, order: dict[str, Any], event: payments.WebhookEvent, cause: str) -> str:
    charge = event.data_object
    refunded = min(int(charge.get("amount_refunded") or 0), int(order["total_cents"]))
    if order["status"] == "pending_payment":
        # Early: the refund overtook the success. Ask Stripe how the intent stands.
        intent = payments.retrieve_intent(event.intent_id or "")
        if intent.status != "succeeded":
            return "no_change"
        _succeeded(conn, order, event, cause)
        order = {**order, "status": "paid"}
    if order["status"] == "paid" and refunded > 0:
        to = "refunded" if refunded >= int(order["total_cents"]) else "partially_refunded"
        lifecycle.move(conn, order["id"], "paid", to, cause, refunded_cents=refunded)
        return to
    if refunded > int(order["refunded_cents"]):
        conn.execute("UPDATE orders SET refunded_cents = %s WHERE id = %s", (refunded, order["id"]))
        return "refunded_cents_updated"
    return "no_change"


def _apply(conn: DictConnection, order: dict[str, Any], event: payments.WebhookEvent) -> str:
    cause = f"stripe:{event.id}"
    if event.type == "payment_intent.succeeded":
        return _succeeded(conn, order, event, cause)
    if event.type == "payment_intent.canceled":
        return "cancelled" if cancel_pending(conn, order["id"], cause) else "no_change"
    if event.type == "charge.refunded":
        return _refunded(conn, order, event, cause)
    if event.type == "payment_intent.payment_failed":
        return "payment_failed"  # the order stays payable until the shopper cancels or it expires
    return "ignored"


def apply_event(event: payments.WebhookEvent) -> bool:
    """Apply a verified event once. Returns False for a duplicate (nothing changed)."""

    def work(conn: DictConnection) -> bool:
        with conn.transaction():
            order_hint = parse_uuid(event.order_id or "")
            if conn.execute(_RECORD_SQL, (event.id, event.type, order_hint)).fetchone() is None:
                return False
            order = _order_for(conn, event)
            outcome = "unknown_order" if order is None else _apply(conn, order, event)
            conn.execute(
                "UPDATE stripe_events SET outcome = %s, order_id = %s WHERE event_id = %s",
                (outcome, order["id"] if order else order_hint, event.id),
            )
            obs.logger().info("stripe event", extra={"event_id": event.id, "type": event.type, "outcome": outcome})
            return True

    applied = run(Role.WRITER, work)
    cache.invalidate()
    return applied


# ---------------------------------------------------------------------------- admin
def _locked_order(conn: DictConnection, order_id: str) -> dict[str, Any]:
    row = lifecycle.status_of(conn, order_id, lock=True)
    if row is None:
        raise NotFoundError("order not found", {"order_id": order_id})
    return row


def _canonical(order_id: str) -> str:
    canonical = parse_uuid(order_id)
    if canonical is None:
        raise NotFoundError("order not found", {"order_id": order_id[:64]})
    return canonical


def _stripe_refund(conn: DictConnection, order: dict[str, Any], amount: int, key: str, cause: str) -> None:
    if order["payment_intent_id"] is None:
        return  # migrated 'placed' order: nothing was charged through Stripe
    refund = payments.refund(order["payment_intent_id"], amount, f"admin:{order['id']}:{key}")
    conn.execute(
        _INSERT_REFUND,
        (order["id"], key, amount, refund.id, cause),
    )


def _seen(conn: DictConnection, order_id: str, key: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM refunds WHERE order_id = %s AND request_key = %s", (order_id, key)).fetchone()
        is not None
    )


def refund(order_id: str, amount_cents: int | None, request_key: str) -> Order:
    """Refund a paid order in full (``None``) or in part, through Stripe, once per ``request_key``."""
    canonical = _canonical(order_id)

    def work(conn: DictConnection) -> None:
        with conn.transaction():
            order = _locked_order(conn, canonical)
            if _seen(conn, canonical, request_key):
                return
            if order["status"] != "paid":
                raise lifecycle.refuse(order["status"], "refunded")
            total = int(order["total_cents"])
            amount = total if amount_cents is None else amount_cents
            if amount > total:
                raise ValidationFailedError("the refund exceeds the order total", {"total_cents": total})
            _stripe_refund(conn, order, amount, request_key, "admin")
            to = "refunded" if amount >= total else "partially_refunded"
            lifecycle.move(conn, canonical, "paid", to, "admin", refunded_cents=amount)

    run(Role.WRITER, work)
    return orders.read(canonical)


def admin_cancel(order_id: str, request_key: str) -> Order:
    """Cancel an unfulfilled order: a paid one is refunded in full; stock goes back either way."""
    canonical = _canonical(order_id)

    def work(conn: DictConnection) -> None:
        with conn.transaction():
            order = _locked_order(conn, canonical)
            if order["status"] == "cancelled":
                return
            if order["status"] == "pending_payment":
                if order["payment_intent_id"]:
                    payments.cancel_intent(order["payment_intent_id"])
                cancel_pending(conn, canonical, "admin")
                return
            if order["status"] != "paid":
                raise lifecycle.refuse(order["status"], "cancelled")
            total = int(order["total_cents"])
            _stripe_refund(conn, order, total, request_key, "admin")
            lifecycle.move(conn, canonical, "paid", "cancelled", "admin", refunded_cents=total)
            lifecycle.release_stock(conn, canonical)

    run(Role.WRITER, work)
    cache.invalidate()
    return orders.read(canonical)


def cancel_intent_quietly(intent_id: str | None) -> None:
    """Best effort after an order was cancelled in the database (a later success gets refunded)."""
    if not intent_id:
        return
    try:
        payments.cancel_intent(intent_id)
    except Exception:
        obs.logger().warning("could not cancel the payment intent", extra={"intent_id": intent_id}, exc_info=True)
