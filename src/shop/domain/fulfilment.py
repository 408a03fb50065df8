"""What happens to an order after checkout, apart from payments: shipping rates, the shopper's
cancellation, fulfilment by the shop, and the expiry of unpaid reservations.

Each operation is one transaction on the writer: the guarded status change (``shop.domain.lifecycle``),
its history row and any stock released commit together or not at all. Operations are idempotent:
repeating one that already happened returns the order as it is (cancel of a cancelled order,
fulfilment with the same carrier and tracking reference).
"""

from __future__ import annotations

from typing import Any

from shop.api import observability as obs
from shop.api.errors import InvalidTransitionError, NotFoundError
from shop.api.models import Fulfilment, Order, ShippingRates, ShippingZone
from shop.auth import Identity
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache, lifecycle, orders

_RATES_SQL = """
SELECT z.zone, z.name, z.rate_cents, array_agg(c.country::text ORDER BY c.country) AS countries
FROM shipping_zones AS z JOIN shipping_countries AS c ON c.zone = z.zone
GROUP BY z.zone ORDER BY z.rate_cents, z.zone
"""

# Oldest first; SKIP LOCKED lets a webhook or a second job run hold an order without blocking this one.
_EXPIRED_SQL = """
SELECT id::text AS id, payment_intent_id FROM orders
WHERE status = 'pending_payment' AND created_at < now() - make_interval(secs => %(window)s)
ORDER BY created_at
LIMIT %(batch)s
FOR UPDATE SKIP LOCKED
"""


def shipping_rates() -> ShippingRates:
    rows = run(Role.WRITER, lambda conn: conn.execute(_RATES_SQL).fetchall())
    return ShippingRates(zones=[ShippingZone(**row) for row in rows])


def _locked(conn: DictConnection, order_id: str) -> dict[str, Any]:
    row = lifecycle.status_of(conn, order_id, lock=True)
    if row is None:
        raise NotFoundError("order not found", {"order_id": order_id})
    return row


def cancel_pending(conn: DictConnection, order_id: str, cause: str) -> bool:
    """In the caller's transaction: pending_payment → cancelled, stock back. False if not pending."""
    if not lifecycle.move(conn, order_id, "pending_payment", "cancelled", cause):
        return False
    lifecycle.release_stock(conn, order_id)
    return True


def cancel_by_shopper(order_id: str, presented_token: str | None, customer: Identity | None = None) -> Order:
    """The shopper gives up an order that is still ``pending_payment`` (with its order token, or
    signed in as the customer who placed it)."""
    canonical = orders.authorised_id(order_id, presented_token, customer)

    def work(conn: DictConnection) -> None:
        with conn.transaction():
            current = _locked(conn, canonical)
            if current["status"] == "cancelled":
                return
            if current["status"] != "pending_payment":
                raise lifecycle.refuse(current["status"], "cancelled")
            if current["payment_intent_id"]:
                _cancel_intent_or_refuse(current["payment_intent_id"])
            cancel_pending(conn, canonical, "shopper")

    run(Role.WRITER, work)
    cache.invalidate()
    obs.logger().info("order cancelled by the shopper", extra={"order_id": canonical})
    return orders.read(canonical)


def _cancel_intent_or_refuse(intent_id: str) -> None:
    """Cancel the intent at Stripe first: once cancelled no payment can follow."""
    from shop import payments

    try:
        payments.cancel_intent(intent_id)
    except payments.PaymentRejectedError as error:
        # Succeeded or processing: the payment is on its way; the webhook will mark the order paid.
        raise InvalidTransitionError(
            "the payment is already being processed", {"status": "pending_payment", "wanted": "cancelled"}
        ) from error


def fulfil(order_id: str, body: Fulfilment) -> Order:
    """The shop shipped a paid order: paid → fulfilled with carrier and tracking reference."""
    canonical = _canonical(order_id)

    def work(conn: DictConnection) -> None:
        with conn.transaction():
            current = _locked(conn, canonical)
            same = (current["carrier"], current["tracking_reference"]) == (body.carrier, body.tracking_reference)
            if current["status"] == "fulfilled" and same:
                return
            if current["status"] != "paid":
                raise lifecycle.refuse(current["status"], "fulfilled")
            lifecycle.move(
                conn,
                canonical,
                "paid",
                "fulfilled",
                "admin",
                carrier=body.carrier,
                tracking_reference=body.tracking_reference,
            )

    run(Role.WRITER, work)
    return orders.read(canonical)


def _canonical(order_id: str) -> str:
    from shop.domain.catalog import parse_uuid

    canonical = parse_uuid(order_id)
    if canonical is None:
        raise NotFoundError("order not found", {"order_id": order_id[:64]})
    return canonical


def expire(window_seconds: int, batch: int = 100) -> list[str]:
    """Cancel ``pending_payment`` orders older than ``window_seconds`` and release their stock.

    Each batch is one transaction; returns the ids cancelled. Their PaymentIntents are left to the
    payments layer (a payment that still succeeds is refunded: see ``shop.domain.payments``).
    """
    from shop.domain.payments import cancel_intent_quietly

    cancelled: list[str] = []
    while True:

        def work(conn: DictConnection) -> list[tuple[str, str | None]]:
            done = []
            with conn.transaction():
                rows = conn.execute(_EXPIRED_SQL, {"window": window_seconds, "batch": batch}).fetchall()
                for row in rows:
                    if cancel_pending(conn, row["id"], "expiry"):
                        done.append((row["id"], row["payment_intent_id"]))
            return done

        done = run(Role.WRITER, work)
        for order_id, intent_id in done:
            cancelled.append(order_id)
            cancel_intent_quietly(intent_id)
        if len(done) < batch:
            break
    if cancelled:
        cache.invalidate()
        obs.count("ReservationsExpired", len(cancelled))
        obs.logger().info("reservations expired", extra={"orders": len(cancelled)})
    return cancelled
