"""Signed-in customers: who they are (from the verified token) and their orders, newest first.

A customer's orders are the rows whose ``customer_sub`` is the token's ``sub``; the query filters on
it, so no input can reach another customer's order. Read from the writer: an order must show up
right after checkout (replicas may lag).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from shop.api.errors import ValidationFailedError
from shop.api.models import Me, Order, OrderPage
from shop.auth import Identity
from shop.db.connection import DictConnection, Role, run
from shop.domain.catalog import parse_uuid
from shop.domain.orders import ORDER_ITEMS_SQL, iso

_ORDERS_SQL = (
    """
SELECT o.id::text AS id, o.status, o.email, o.total_cents, o.shipping_cents, o.currency, o.created_at,
"""
    + ORDER_ITEMS_SQL
    + """WHERE o.customer_sub = %(sub)s {after}
GROUP BY o.id
ORDER BY o.created_at DESC, o.id DESC
LIMIT %(limit)s
"""
)
_AFTER = "AND (o.created_at, o.id) < (%(after_at)s, %(after_id)s::uuid)"


def me(identity: Identity) -> Me:
    return Me(
        sub=identity.sub, email=identity.email, email_verified=identity.email_verified, groups=sorted(identity.groups)
    )


def encode_cursor(created_at: datetime, order_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), order_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, order_id = json.loads(raw)
        canonical = parse_uuid(order_id) if isinstance(order_id, str) else None
        if not isinstance(moment, str) or canonical is None:
            raise ValueError("bad cursor")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("bad cursor")
        return parsed, canonical
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValidationFailedError(
            "cursor is not valid",
            {"errors": [{"loc": ["query", "cursor"], "type": "value_error", "message": "not a cursor"}]},
        ) from exc


def _order(row: dict[str, Any]) -> Order:
    return Order(
        order_id=row["id"],
        status=row["status"],
        email=row["email"],
        items=row["items"],
        subtotal_cents=int(row["total_cents"]) - int(row["shipping_cents"]),
        shipping_cents=int(row["shipping_cents"]),
        total_cents=int(row["total_cents"]),
        currency=str(row["currency"]).strip(),  # type: ignore[arg-type]
        created_at=iso(row["created_at"]),
    )


def list_orders(identity: Identity, limit: int, cursor: str | None) -> OrderPage:
    """One page of the customer's orders, newest first; ``next_cursor`` when there are more."""
    params: dict[str, Any] = {"sub": identity.sub, "limit": limit + 1}
    after = ""
    if cursor is not None:
        params["after_at"], params["after_id"] = decode_cursor(cursor)
        after = _AFTER

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return conn.execute(_ORDERS_SQL.format(after=after), params).fetchall()

    rows = run(Role.WRITER, work)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if len(rows) > limit else None
    return OrderPage(items=[_order(row) for row in page], next_cursor=next_cursor)
