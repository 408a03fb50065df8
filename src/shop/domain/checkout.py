"""Checkout: a cart becomes an order in one statement on the writer; the database decides.

Exactly one order per cart, whatever fails (issue 17):

* ``orders.cart_id`` is unique (migration 0002). The order is placed by one SQL statement
  (:data:`_PLACE_SQL`, one round trip, its own transaction) that locks the cart's product rows in id
  order, checks stock, inserts the order ``ON CONFLICT (cart_id) DO NOTHING``, and only if that
  insert happened decrements stock and writes the lines. All or nothing: nothing else can commit
  half of it, and ``CHECK (stock >= 0)`` backs the stock test.
* A cart that has an order is spent: checking it out again (a retry after a lost response, a crash
  after COMMIT, a failed cart deletion, a concurrent request, with or without an Idempotency-Key)
  returns that order, with the same order token, and creates nothing. The cart need not exist any
  more: an unknown, empty or short-of-stock cart is first looked up in ``orders`` by cart id.
* The order token is an HMAC of the order id (``shop.domain.orders.order_token``), so a replay can
  return it without anyone storing it. The e-mail must match the order's; a different e-mail gets 409
  ``conflict`` (or 422 ``idempotency_key_reused`` when an Idempotency-Key was sent).
* After the commit, the catalog cache is invalidated and the cart deleted, best effort: a failure
  there is logged, never turned into an error (the order exists; a retry returns it).

The ``Idempotency-Key`` is recorded on the order row (``orders.idempotency_key``). Nothing else is
kept in DynamoDB for checkout: see ARCHITECTURE.md, "Checkout".

A signed-in customer's order carries their Cognito ``sub`` (``orders.customer_sub``) and the e-mail
address of their verified token; the body's ``email`` is ignored then. A replay returns the order
only to whoever placed it: the same customer (or, for a guest order, a guest), with the same e-mail.

``checkout(CheckoutRequest, idempotency_key, lambda_context, customer) -> PlacedOrder`` is the entry point.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from shop.api import observability as obs
from shop.api.errors import (
    CartEmptyError,
    ConflictError,
    EmailNotVerifiedError,
    IdempotencyKeyReusedError,
    NotFoundError,
    OutOfStockError,
    UnsupportedCountryError,
    ValidationFailedError,
)
from shop.api.models import CheckoutRequest, HistoryEntry, OrderLine, PlacedOrder
from shop.auth import Identity
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache, carts
from shop.domain.orders import find_by_cart, iso, order_from_row, order_token
from shop.events import outbox

# One statement: lock → check → insert the order (unless the cart has one) → take stock → lines.
# ``placed`` depends on ``verdict`` (and so on ``locked``): product rows are always locked first, in
# id order, so concurrent checkouts queue on them instead of deadlocking; a concurrent checkout of the
# same cart therefore reaches the INSERT only after the first one committed, and its insert conflicts.
_PLACE_SQL = """
WITH wanted AS (
    SELECT w.product_id, w.quantity, w.line_no::int AS line_no
    FROM unnest(%(ids)s::uuid[], %(quantities)s::int[]) WITH ORDINALITY AS w (product_id, quantity, line_no)
), locked AS MATERIALIZED (
    SELECT p.id, p.name, p.price_cents, p.stock
    FROM products AS p
    WHERE p.id = ANY(%(ids)s::uuid[])
    ORDER BY p.id
    FOR UPDATE
), priced AS (
    SELECT w.product_id, w.quantity, w.line_no, l.name, l.price_cents, l.stock
    FROM wanted AS w
    LEFT JOIN locked AS l ON l.id = w.product_id
), rate AS (
    SELECT z.zone, z.rate_cents
    FROM shipping_countries AS c JOIN shipping_zones AS z ON z.zone = c.zone
    WHERE c.country = %(country)s
), verdict AS (
    SELECT bool_and(stock IS NOT NULL AND stock >= quantity) AS in_stock,
           sum(quantity::bigint * price_cents) AS subtotal
    FROM priced
), placed AS (
    INSERT INTO orders (id, token_hash, status, email, cart_id, idempotency_key, total_cents,
                        shipping_cents, shipping_zone, shipping_address, customer_sub)
    SELECT %(order_id)s, NULL, 'pending_payment', %(email)s, %(cart_id)s, %(key)s, v.subtotal + r.rate_cents,
           r.rate_cents, r.zone, %(address)s::jsonb, %(customer_sub)s
    FROM verdict AS v, rate AS r
    WHERE v.in_stock
    ON CONFLICT (cart_id) WHERE duplicate_of IS NULL DO NOTHING
    RETURNING id, created_at, shipping_cents
), created AS (
    INSERT INTO order_history (order_id, from_status, to_status, cause, at)
    SELECT id, NULL, 'pending_payment', 'checkout', created_at FROM placed
    RETURNING at
), sold AS (
    -- No stock guard here: the verdict was taken on locked rows, and CHECK (stock >= 0) would abort
    -- the whole statement rather than let a partial order commit.
    UPDATE products AS p
    SET stock = p.stock - w.quantity, updated_at = now()
    FROM wanted AS w, placed
    WHERE p.id = w.product_id
    RETURNING p.id
), lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_cents, line_total_cents)
    SELECT placed.id, r.line_no, r.product_id, r.name, r.quantity, r.price_cents, r.quantity::bigint * r.price_cents
    FROM priced AS r, placed
    RETURNING 1
)
SELECT (SELECT created_at FROM placed) AS created_at,
       (SELECT shipping_cents FROM placed) AS shipping_cents,
       (SELECT count(*) FROM created) AS created,
       EXISTS (SELECT 1 FROM rate) AS ships,
       (SELECT count(*) FROM sold) AS sold,
       (SELECT count(*) FROM lines) AS lines,
       (SELECT in_stock FROM verdict) AS in_stock,
       (SELECT json_agg(json_build_object(
            'product_id', product_id::text, 'name', name, 'quantity', quantity,
            'unit_price_cents', price_cents, 'stock', stock) ORDER BY line_no)
        FROM priced) AS priced
"""


def _existing(cart_id: str) -> dict[str, Any] | None:
    return run(Role.WRITER, lambda conn: find_by_cart(conn, cart_id))


def buyer_email(request: CheckoutRequest, customer: Identity | None) -> str:
    """Where the order's mail goes: the signed-in customer's verified address (the body's is ignored),
    or the guest's ``email`` (required then)."""
    if customer is not None:
        if not customer.email or not customer.email_verified:
            raise EmailNotVerifiedError("confirm your account's e-mail address before checking out")
        return customer.email
    if request.email is None:
        raise ValidationFailedError(
            "the request is not valid",
            {"errors": [{"loc": ["body", "email"], "type": "missing", "message": "required unless signed in"}]},
        )
    return request.email


def _replay(
    row: dict[str, Any], request: CheckoutRequest, idempotency_key: str | None, email: str, customer: Identity | None
) -> PlacedOrder:
    """The order already placed from this cart, as checkout returns it (same token), to the same buyer."""
    if row["email"] != email or row.get("customer_sub") != (customer.sub if customer else None):
        details = {"cart_id": request.cart_id}
        if idempotency_key:
            raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different checkout", details)
        raise ConflictError("this cart was already checked out by someone else", details)
    if row["token_hash"] is not None:
        # Placed before order tokens were derived: its random token was handed out once and is not kept.
        raise ConflictError("this cart was already checked out", {"cart_id": request.cart_id})
    order = order_from_row(row)
    obs.count("CheckoutReplays")
    obs.logger().info("checkout replayed", extra={"order_id": order.order_id})
    _clear_cart(request.cart_id, order.order_id)
    secret = _payment(order.order_id, order.total_cents, idempotency_key)
    return PlacedOrder(**order.model_dump(), order_token=order_token(order.order_id), client_secret=secret)


def _payment(order_id: str, total_cents: int, idempotency_key: str | None) -> str | None:
    """The PaymentIntent's client secret (created once per order; see ``shop.domain.payments``)."""
    from shop.domain import payments

    return payments.ensure_intent(order_id, total_cents, idempotency_key)


def _clear_cart(cart_id: str, order_id: str) -> None:
    try:
        carts.delete(cart_id)
    except Exception:
        obs.logger().warning("order placed but the cart was not cleared", extra={"order_id": order_id}, exc_info=True)


def _out_of_stock(priced: list[dict[str, Any]]) -> OutOfStockError:
    short = [
        {"product_id": line["product_id"], "requested": line["quantity"], "available": int(line["stock"] or 0)}
        for line in priced
        if line["stock"] is None or line["stock"] < line["quantity"]
    ]
    return OutOfStockError("not enough stock for some items", {"items": short})


def checkout(
    request: CheckoutRequest, idempotency_key: str | None, lambda_context: Any = None, customer: Identity | None = None
) -> PlacedOrder:
    """Place the order for ``request``'s cart (for ``customer`` when signed in), or return the one
    already placed from it."""
    cart_id = request.cart_id
    email = buyer_email(request, customer)
    try:
        items = carts.load(cart_id, consistent=True).items
    except NotFoundError:
        existing = _existing(cart_id)
        if existing is None:
            raise
        return _replay(existing, request, idempotency_key, email, customer)
    if not items:
        existing = _existing(cart_id)
        if existing is None:
            raise CartEmptyError("the cart is empty", {"cart_id": cart_id})
        return _replay(existing, request, idempotency_key, email, customer)

    order_id = str(uuid.uuid4())
    wanted = sorted(items.items())
    params = {
        "ids": [product_id for product_id, _ in wanted],
        "quantities": [quantity for _, quantity in wanted],
        "order_id": order_id,
        "email": email,
        "cart_id": cart_id,
        "customer_sub": customer.sub if customer else None,
        "key": idempotency_key,
        "country": request.shipping_address.country,
        "address": json.dumps(request.shipping_address.model_dump()),
    }

    def place(conn: DictConnection) -> dict[str, Any] | None:
        return conn.execute(_PLACE_SQL, params).fetchone()

    result = run(Role.WRITER, place)
    assert result is not None
    priced: list[dict[str, Any]] = result["priced"] or []
    if result["created_at"] is None:
        # Not placed: the cart already has an order (a retry, or a concurrent checkout that won), or
        # the stock is short. The order, if there is one, wins over the stock verdict.
        existing = _existing(cart_id)
        if existing is not None:
            return _replay(existing, request, idempotency_key, email, customer)
        obs.count("CheckoutFailures")
        if not result["ships"]:
            raise UnsupportedCountryError(
                "we do not ship to this country (GET /api/shipping-rates lists where we do)",
                {"country": request.shipping_address.country},
            )
        if not result["in_stock"]:
            obs.count("OutOfStock")
            raise _out_of_stock(priced)
        raise RuntimeError("checkout placed no order, found none for the cart, and stock was sufficient")
    if result["sold"] != len(wanted) or result["lines"] != len(wanted):
        obs.logger().error("order row counts differ", extra={"order_id": order_id, "sold": result["sold"]})

    lines = [
        OrderLine(
            product_id=line["product_id"],
            name=line["name"],
            quantity=line["quantity"],
            unit_price_cents=line["unit_price_cents"],
            line_total_cents=line["unit_price_cents"] * line["quantity"],
        )
        for line in priced
    ]
    subtotal = sum(line.line_total_cents for line in lines)
    shipping = int(result["shipping_cents"])
    created_at = iso(result["created_at"])
    order = PlacedOrder(
        order_id=order_id,
        order_token=order_token(order_id),
        status="pending_payment",
        email=email,
        items=lines,
        subtotal_cents=subtotal,
        shipping_cents=shipping,
        total_cents=subtotal + shipping,
        shipping_address=request.shipping_address.model_dump(),
        created_at=created_at,
        history=[HistoryEntry(from_status=None, to_status="pending_payment", cause="checkout", at=created_at)],
    )

    # Committed: the stock is reserved. What follows must not turn a placed order into an error,
    # except the payment: without an intent the order cannot be paid, so a Stripe outage answers 503
    # and the retry (same cart, same key) finds the order and creates the intent.
    cache.invalidate()
    outbox.mark()  # OrderPlaced (and any StockLow) were written by migration 0006's triggers
    _clear_cart(cart_id, order_id)
    order.client_secret = _payment(order_id, order.total_cents, idempotency_key)
    obs.count("OrdersPlaced")
    obs.count("Revenue", order.total_cents, unit="None")
    obs.count("ItemsSold", sum(line.quantity for line in order.items))
    obs.logger().info("order placed", extra={"order_id": order_id, "total_cents": order.total_cents})
    return order
