"""Orders: read back with the secret token issued at checkout (only its SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from shop.api.errors import NotFoundError
from shop.api.models import Order
from shop.db.connection import DictConnection, Role, run
from shop.domain.catalog import parse_uuid

# The writer: an order must be readable right after checkout (replicas may lag).
_ORDER_SQL = """
SELECT o.id::text AS id, o.token_hash, o.status, o.email, o.total_cents, o.currency, o.created_at,
       coalesce(
           json_agg(
               json_build_object(
                   'product_id', l.product_id::text, 'name', l.name, 'quantity', l.quantity,
                   'unit_price_cents', l.unit_price_cents, 'line_total_cents', l.line_total_cents
               ) ORDER BY l.line_no
           ) FILTER (WHERE l.order_id IS NOT NULL),
           '[]'::json
       ) AS items
FROM orders AS o
LEFT JOIN order_lines AS l ON l.order_id = o.id
WHERE o.id = %s
GROUP BY o.id
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def get_order(order_id: str, order_token: str | None) -> Order:
    """The order, if ``order_token`` is the one issued for it. Unknown id and wrong or missing token
    look the same from outside (NotFoundError)."""
    not_found = NotFoundError("order not found", {"order_id": order_id[:64]})
    canonical = parse_uuid(order_id)
    if canonical is None or not order_token:
        raise not_found

    def work(conn: DictConnection) -> dict[str, Any] | None:
        return conn.execute(_ORDER_SQL, (canonical,)).fetchone()

    row = run(Role.WRITER, work)
    if row is None or not hmac.compare_digest(row["token_hash"], token_hash(order_token)):
        raise not_found
    return Order(
        order_id=row["id"],
        status=row["status"],
        email=row["email"],
        items=row["items"],
        total_cents=int(row["total_cents"]),
        currency=str(row["currency"]).strip(),  # type: ignore[arg-type]
        created_at=iso(row["created_at"]),
    )
