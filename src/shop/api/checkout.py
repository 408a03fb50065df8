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
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shop.api import cache, carts
from shop.api import observability as obs
from shop.api.errors import (
    CartEmptyError,
    IdempotencyKeyReusedError,
    OutOfStockError,
    RequestInProgressError,
)
from shop.api.runtime import dynamodb, table_name
from shop.db.connection import DictConnection, Role, run
from shop.declarations import IDEMPOTENCY_TABLE

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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def place_order(cart_id: str, email: str) -> dict[str, Any]:
    """Turn the cart into an order; returns the PlacedOrder body (with the one-time order token)."""
    items, _ = carts.load(cart_id, consistent=True)
    if not items:
        raise CartEmptyError("the cart is empty", {"cart_id": cart_id})

    order_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    wanted = sorted(items.items())
    ids = [product_id for product_id, _ in wanted]

    def work(conn: DictConnection) -> dict[str, Any]:
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
                {
                    "product_id": product_id,
                    "name": locked[product_id]["name"],
                    "quantity": quantity,
                    "unit_price_cents": int(locked[product_id]["price_cents"]),
                    "line_total_cents": int(locked[product_id]["price_cents"]) * quantity,
                }
                for product_id, quantity in wanted
            ]
            total = sum(line["line_total_cents"] for line in lines)
            result = conn.execute(
                _PLACE_SQL,
                {
                    "ids": ids,
                    "quantities": [line["quantity"] for line in lines],
                    "names": [line["name"] for line in lines],
                    "prices": [line["unit_price_cents"] for line in lines],
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
        return {
            "order_id": order_id,
            "order_token": token,
            "status": "placed",
            "email": email,
            "items": lines,
            "total_cents": total,
            "currency": "USD",
            "created_at": iso(created_at),
        }

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
    obs.count("Revenue", order["total_cents"], unit="None")
    obs.count("ItemsSold", sum(line["quantity"] for line in order["items"]))
    obs.logger().info("order placed", extra={"order_id": order_id, "total_cents": order["total_cents"]})
    return order


_idempotent_lock = threading.Lock()
_idempotent: dict[str, tuple[Callable[..., dict[str, Any]], Any]] = {}


def _idempotent_place(table: str) -> tuple[Callable[..., dict[str, Any]], Any]:
    """The idempotent wrapper for ``table`` (built once per table name; the name is read per call)."""
    built = _idempotent.get(table)
    if built is not None:
        return built
    with _idempotent_lock:
        built = _idempotent.get(table)
        if built is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb())
            config = IdempotencyConfig(
                event_key_jmespath="[key, cart_id]",
                payload_validation_jmespath="email",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
            )

            def place(request: dict[str, str]) -> dict[str, Any]:
                return place_order(request["cart_id"], request["email"])

            wrapped = idempotent_function(
                place,
                data_keyword_argument="request",
                persistence_store=persistence,
                config=config,
                key_prefix="checkout",
            )
            built = (wrapped, config)
            _idempotent[table] = built
    return built


def checkout(cart_id: str, email: str, idempotency_key: str | None, lambda_context: Any = None) -> dict[str, Any]:
    if not idempotency_key:
        return place_order(cart_id, email)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    place, config = _idempotent_place(table_name(IDEMPOTENCY_TABLE))
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    try:
        result: dict[str, Any] = place(request={"key": idempotency_key, "cart_id": cart_id, "email": email})
    except IdempotencyAlreadyInProgressError as exc:
        raise RequestInProgressError("a checkout with this Idempotency-Key is in progress; retry shortly") from exc
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReusedError("this Idempotency-Key was used for a different checkout") from exc
    return result
