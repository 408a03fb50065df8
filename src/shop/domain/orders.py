"""Orders: read back with the secret token issued at checkout, or by the signed-in customer who placed them.

The order token is ``base64url(HMAC-SHA256(secret, order id))``: nothing about it is stored, so a
replayed checkout can hand out the same token again, and no table, record or snapshot holds it. The
secret (≥ 32 bytes) comes from an SSM SecureString parameter in AWS (``ORDER_TOKEN_SECRET_PARAMETER``,
read with Powertools Parameters, cached for ``SECRET_MAX_AGE_SECONDS``) or, locally, from a file in the
data directory (``ORDER_TOKEN_SECRET_FILE``, mode 0600). Orders placed before migration 0002 carry the
SHA-256 of a random token in ``token_hash`` and are read with that token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shop import config
from shop.api.errors import NotFoundError
from shop.api.models import HistoryEntry, Order
from shop.auth import Identity
from shop.db.connection import DictConnection, Role, run
from shop.domain.catalog import parse_uuid

# An order's lines as one JSON array, in line order, with the FROM clause (callers group by o.id).
ORDER_ITEMS_SQL = """
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
"""
_ORDER_COLUMNS = (
    """
SELECT o.id::text AS id, o.token_hash, o.status, o.email, o.total_cents, o.currency, o.created_at,
       o.cart_id, o.idempotency_key, o.shipping_cents, o.shipping_address, o.refunded_cents,
       o.carrier, o.tracking_reference, o.payment_intent_id, o.customer_sub,
       (SELECT coalesce(json_agg(json_build_object(
                   'from_status', h.from_status, 'to_status', h.to_status, 'cause', h.cause,
                   'at', h.at
               ) ORDER BY h.id), '[]'::json)
        FROM order_history AS h WHERE h.order_id = o.id) AS history,
"""
    + ORDER_ITEMS_SQL
)
# Both on the writer: an order must be readable right after checkout (replicas may lag).
_ORDER_SQL = _ORDER_COLUMNS + "WHERE o.id = %s GROUP BY o.id"
_CART_ORDER_SQL = _ORDER_COLUMNS + "WHERE o.cart_id = %s AND o.duplicate_of IS NULL GROUP BY o.id"


def find_by_cart(conn: DictConnection, cart_id: str) -> dict[str, Any] | None:
    """The order placed from ``cart_id`` (a cart has at most one), as a row, or None."""
    return conn.execute(_CART_ORDER_SQL, (cart_id,)).fetchone()


SECRET_MAX_AGE_SECONDS = 300
MIN_SECRET_BYTES = 32


class OrderTokenSecretError(RuntimeError):
    """The order-token secret is not configured or too short."""


def token_secret() -> bytes:
    """The HMAC key for order tokens (AWS: SSM SecureString via Powertools, cached; locally: a file)."""
    settings = config.settings()
    if settings.order_token_secret_parameter:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_parameter(
            settings.order_token_secret_parameter, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS
        )
        secret = str(value).encode()
    elif settings.order_token_secret_file:
        secret = Path(settings.order_token_secret_file).read_bytes().strip()
    else:
        raise OrderTokenSecretError("set ORDER_TOKEN_SECRET_PARAMETER (AWS) or ORDER_TOKEN_SECRET_FILE (locally)")
    if len(secret) < MIN_SECRET_BYTES:
        raise OrderTokenSecretError(f"the order-token secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def order_token(order_id: str) -> str:
    """The token for ``order_id``: HMAC-SHA256 under the stack secret, base64url without padding."""
    digest = hmac.new(token_secret(), order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """SHA-256 of a token (how orders placed before migration 0002 stored theirs)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(order_id: str, stored_hash: str | None, presented: str) -> bool:
    if stored_hash is not None:
        return hmac.compare_digest(stored_hash, token_hash(presented))
    return hmac.compare_digest(order_token(order_id), presented)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def may_read(row: dict[str, Any], presented_token: str | None, customer: Identity | None) -> bool:
    """Whether the caller may see the order ``row``: the order token issued for it, or signed in as
    the customer who placed it (another customer's token opens nothing)."""
    if (
        customer is not None
        and row.get("customer_sub") is not None
        and hmac.compare_digest(str(row["customer_sub"]), customer.sub)
    ):
        return True
    return bool(presented_token) and token_matches(row["id"], row["token_hash"], str(presented_token))


def get_order(order_id: str, presented_token: str | None, customer: Identity | None = None) -> Order:
    """The order, if ``order_token`` is the one issued for it or ``customer`` placed it. Unknown id,
    wrong or missing token and another customer's order look the same from outside (NotFoundError)."""
    not_found = NotFoundError("order not found", {"order_id": order_id[:64]})
    canonical = parse_uuid(order_id)
    if canonical is None or not (presented_token or customer):
        raise not_found

    def work(conn: DictConnection) -> dict[str, Any] | None:
        return conn.execute(_ORDER_SQL, (canonical,)).fetchone()

    row = run(Role.WRITER, work)
    if row is None or not may_read(row, presented_token, customer):
        raise not_found
    return order_from_row(row)


def find(conn: DictConnection, order_id: str) -> dict[str, Any] | None:
    """The order ``order_id`` (canonical uuid text) as a row, or None."""
    return conn.execute(_ORDER_SQL, (order_id,)).fetchone()


def authorised_id(order_id: str, presented_token: str | None, customer: Identity | None = None) -> str:
    """The canonical id of the order ``presented_token`` opens (or ``customer`` placed); NotFoundError otherwise."""
    not_found = NotFoundError("order not found", {"order_id": order_id[:64]})
    canonical = parse_uuid(order_id)
    if canonical is None or not (presented_token or customer):
        raise not_found
    row = run(
        Role.WRITER,
        lambda conn: conn.execute(
            "SELECT id::text AS id, token_hash, customer_sub FROM orders WHERE id = %s", (canonical,)
        ).fetchone(),
    )
    if row is None or not may_read(row, presented_token, customer):
        raise not_found
    return canonical


def read(order_id: str) -> Order:
    """The order ``order_id`` (canonical, known to exist) as the API returns it."""
    row = run(Role.WRITER, lambda conn: find(conn, order_id))
    if row is None:
        raise NotFoundError("order not found", {"order_id": order_id})
    return order_from_row(row)


def order_from_row(row: dict[str, Any]) -> Order:
    total = int(row["total_cents"])
    shipping = int(row.get("shipping_cents") or 0)
    return Order(
        order_id=row["id"],
        status=row["status"],
        email=row["email"],
        items=row["items"],
        subtotal_cents=total - shipping,
        shipping_cents=shipping,
        total_cents=total,
        refunded_cents=int(row.get("refunded_cents") or 0),
        currency=str(row["currency"]).strip(),  # type: ignore[arg-type]
        shipping_address=row.get("shipping_address"),
        carrier=row.get("carrier"),
        tracking_reference=row.get("tracking_reference"),
        created_at=iso(row["created_at"]),
        history=[
            HistoryEntry.model_validate({**entry, "at": iso(datetime.fromisoformat(entry["at"]))})
            for entry in (row.get("history") or [])
        ],
    )
