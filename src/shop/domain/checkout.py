"""Checkout: a cart becomes an order in one database transaction on the writer.

1. Read the cart (strongly consistent). Unknown → 404, empty → 409 ``cart_empty``.
2. ``BEGIN``; lock the cart's product rows ``FOR UPDATE`` in id order (concurrent checkouts of the
   same products queue up instead of deadlocking); compare stock; take current prices.
3. One statement decrements stock (guarded by ``stock >= quantity``; the row count must match),
   inserts the order and its lines. ``COMMIT``.
4. Afterwards: invalidate the catalog cache, delete the cart, emit metrics.

Any failure before COMMIT rolls everything back: no partial order, no stock taken. The order token
is returned once; only its SHA-256 is stored.

With an ``Idempotency-Key`` header the whole thing runs under Powertools idempotency (the
idempotency table; key = header + cart id; the e-mail must match on replays): a retry returns the
first response and creates nothing.

``checkout(CheckoutRequest, idempotency_key, lambda_context) -> PlacedOrder`` is the entry point.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from shop import config
from shop.api import observability as obs
from shop.api.errors import (
    CartEmptyError,
    IdempotencyKeyReusedError,
    OutOfStockError,
    RequestInProgressError,
)
from shop.api.models import CheckoutRequest, OrderLine, PlacedOrder
from shop.aws import dynamodb
from shop.db.connection import DictConnection, Role, run
from shop.declarations import IDEMPOTENCY_TABLE
from shop.domain import cache, carts
from shop.domain.orders import iso, token_hash
from shop.lazy import Lazy

IDEMPOTENCY_EXPIRY_SECONDS = 24 * 3600

_LOCK_SQL = """
SELECT id::text AS id, name, price_cents, stock
FROM products
WHERE id = ANY(%(ids)s::uuid[])
ORDER BY id
FOR UPDATE
"""

_PLACE_SQL = """
WITH wanted AS (
    SELECT *
    FROM unnest(%(ids)s::uuid[], %(quantities)s::int[], %(names)s::text[], %(prices)s::int[], %(line_nos)s::int[])
        AS w (product_id, quantity, name, unit_price_cents, line_no)
), sold AS (
    UPDATE products AS p
    SET stock = p.stock - w.quantity, updated_at = now()
    FROM wanted AS w
    WHERE p.id = w.product_id AND p.stock >= w.quantity
    RETURNING p.id
), placed AS (
    INSERT INTO orders (id, token_hash, status, email, cart_id, total_cents)
    VALUES (%(order_id)s, %(token_hash)s, 'placed', %(email)s, %(cart_id)s, %(total)s)
    RETURNING created_at
), lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_cents, line_total_cents)
    SELECT %(order_id)s, line_no, product_id, name, quantity, unit_price_cents, quantity::bigint * unit_price_cents
    FROM wanted
    RETURNING 1
)
SELECT (SELECT count(*) FROM sold) AS sold, (SELECT count(*) FROM lines) AS lines,
       (SELECT created_at FROM placed) AS created_at
"""


def place_order(cart_id: str, email: str) -> PlacedOrder:
    """Turn the cart into an order; returns it with the one-time order token."""
    items = carts.load(cart_id, consistent=True).items
    if not items:
        raise CartEmptyError("the cart is empty", {"cart_id": cart_id})

    order_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    wanted = sorted(items.items())
    ids = [product_id for product_id, _ in wanted]

    def work(conn: DictConnection) -> PlacedOrder:
        with conn.transaction():
            locked = {row["id"]: row for row in conn.execute(_LOCK_SQL, {"ids": ids}).fetchall()}
            short = []
            for product_id, quantity in wanted:
                row = locked.get(product_id)
                available = int(row["stock"]) if row else 0
                if available < quantity:
                    short.append({"product_id": product_id, "requested": quantity, "available": available})
            if short:
                raise OutOfStockError("not enough stock for some items", {"items": short})
            lines = [
                OrderLine(
                    product_id=product_id,
                    name=locked[product_id]["name"],
                    quantity=quantity,
                    unit_price_cents=int(locked[product_id]["price_cents"]),
                    line_total_cents=int(locked[product_id]["price_cents"]) * quantity,
                )
                for product_id, quantity in wanted
            ]
            total = sum(line.line_total_cents for line in lines)
            result = conn.execute(
                _PLACE_SQL,
                {
                    "ids": ids,
                    "quantities": [line.quantity for line in lines],
                    "names": [line.name for line in lines],
                    "prices": [line.unit_price_cents for line in lines],
                    "line_nos": list(range(1, len(lines) + 1)),
                    "order_id": order_id,
                    "token_hash": token_hash(token),
                    "email": email,
                    "cart_id": cart_id,
                    "total": total,
                },
            ).fetchone()
            if result is None or result["sold"] != len(lines) or result["lines"] != len(lines):
                # Cannot happen while the rows are locked; never commit a partial order if it does.
                raise OutOfStockError("stock changed during checkout", {"items": []})
            created_at = result["created_at"]
        return PlacedOrder(
            order_id=order_id,
            order_token=token,
            status="placed",
            email=email,
            items=lines,
            total_cents=total,
            created_at=iso(created_at),
        )

    try:
        order = run(Role.WRITER, work)
    except OutOfStockError:
        obs.count("CheckoutFailures")
        obs.count("OutOfStock")
        raise

    # Committed. What follows must not turn a placed order into an error.
    cache.invalidate()
    try:
        carts.delete(cart_id)
    except Exception:
        obs.logger().warning("order placed but the cart was not cleared", extra={"order_id": order_id}, exc_info=True)
    obs.count("OrdersPlaced")
    obs.count("Revenue", order.total_cents, unit="None")
    obs.count("ItemsSold", sum(line.quantity for line in order.items))
    obs.logger().info("order placed", extra={"order_id": order_id, "total_cents": order.total_cents})
    return order


def _idempotent_place() -> tuple[Callable[..., dict[str, Any]], Any]:
    """``place_order`` under Powertools idempotency on the idempotency table, and its config."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=config.settings().table(IDEMPOTENCY_TABLE), boto3_client=dynamodb()
    )
    idempotency = IdempotencyConfig(
        event_key_jmespath="[key, cart_id]",
        payload_validation_jmespath="email",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )

    def place(request: dict[str, str]) -> dict[str, Any]:
        # The stored (and replayed) response is the JSON form of the placed order.
        return place_order(request["cart_id"], request["email"]).model_dump(mode="json")

    wrapped = idempotent_function(
        place,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=idempotency,
        key_prefix="checkout",
    )
    return wrapped, idempotency


idempotent_place: Lazy[tuple[Callable[..., dict[str, Any]], Any]] = Lazy(_idempotent_place)


def checkout(request: CheckoutRequest, idempotency_key: str | None, lambda_context: Any = None) -> PlacedOrder:
    """Place the order for ``request``; with an idempotency key, a retry returns the first result."""
    if not idempotency_key:
        return place_order(request.cart_id, request.email)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    place, idempotency = idempotent_place()
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        idempotency.register_lambda_context(lambda_context)
    try:
        result = place(request={"key": idempotency_key, "cart_id": request.cart_id, "email": request.email})
    except IdempotencyAlreadyInProgressError as exc:
        raise RequestInProgressError("a checkout with this Idempotency-Key is in progress; retry shortly") from exc
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different checkout") from exc
    return PlacedOrder.model_validate(result)
