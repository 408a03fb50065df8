"""The catalog: products read from PostgreSQL (the reader role, the proxy's read-only endpoint)
through the read-through cache (``shop.domain.cache``)."""

from __future__ import annotations

import uuid
from typing import Any

from shop.api.errors import NotFoundError, ValidationFailedError
from shop.api.models import Product, ProductList
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache

PRODUCT_COLUMNS = (
    "id::text AS id, sku, name, description, category, price_cents, currency, stock, image_url, image_key,"
    " archived_at IS NOT NULL AS archived"
)
# The storefront never shows an archived product (the back office does: shop.domain.back_office).
FOR_SALE = "archived_at IS NULL"


def parse_uuid(value: str) -> str | None:
    """The canonical form of a UUID path parameter, or None if it is not one (callers answer 404)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def product_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "category": row["category"],
        "price_cents": int(row["price_cents"]),
        "currency": str(row["currency"]).strip(),
        "stock": int(row["stock"]),
        # An uploaded image (served by CloudFront at /<key>) wins over an external URL.
        "image_url": f"/{row['image_key']}" if row.get("image_key") else row["image_url"],
        "image_key": row.get("image_key"),
        "archived": bool(row.get("archived")),
    }


def encode_cursor(product_id: str) -> str:
    """The cursor after a page is the id of its last product: the page goes on from that product's
    place in (name, id) order. Any UUID is a well-formed cursor (the documented pattern); one that
    names no product gives an empty page."""
    return product_id


def decode_cursor(cursor: str) -> str:
    canonical = parse_uuid(cursor)
    if canonical is None or canonical != cursor:
        raise ValidationFailedError(
            "cursor is not valid",
            {"errors": [{"loc": ["query", "cursor"], "type": "value_error", "message": "not a cursor"}]},
        )
    return canonical


def fetch_product(product_id: str) -> dict[str, Any] | None:
    def work(conn: DictConnection) -> dict[str, Any] | None:
        row = conn.execute(
            f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = %s AND {FOR_SALE}", (product_id,)
        ).fetchone()
        return product_dict(row) if row else None

    return run(Role.READER, work)


def fetch_page(category: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page ordered by (name, id) with keyset pagination."""
    conditions: list[str] = [FOR_SALE]
    params: list[Any] = []
    if category is not None:
        conditions.append("category = %s")
        params.append(category)
    if cursor is not None:
        conditions.append("(name, id) > (SELECT after.name, after.id FROM products AS after WHERE after.id = %s::uuid)")
        params.append(decode_cursor(cursor))
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    query = f"SELECT {PRODUCT_COLUMNS} FROM products {where} ORDER BY name, id LIMIT %s"
    params.append(limit + 1)

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return [product_dict(row) for row in conn.execute(query, params).fetchall()]

    rows = run(Role.READER, work)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def fetch_products(product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current catalog rows for ``product_ids`` (missing ids are absent from the result)."""
    if not product_ids:
        return {}

    def work(conn: DictConnection) -> dict[str, dict[str, Any]]:
        rows = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ANY(%s::uuid[])", (product_ids,))
        return {str(row["id"]): product_dict(row) for row in rows.fetchall()}

    return run(Role.READER, work)


def list_products(category: str | None, limit: int, cursor: str | None) -> ProductList:
    """One page of the catalog (cached)."""
    key = f"products|{category or ''}|{limit}|{cursor or ''}"
    if cursor is not None:
        decode_cursor(cursor)  # a bad cursor is a 422 whether or not the page is cached
    page = cache.read_through(key, lambda: fetch_page(category, limit, cursor))
    return ProductList.model_validate(page)


def get_product(product_id: str) -> Product:
    """One product (cached); NotFoundError for an unknown or malformed id."""
    canonical = parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    found = cache.read_through(f"product|{canonical}", lambda: {"product": fetch_product(canonical)})
    if found.get("product") is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return Product.model_validate(found["product"])


def require_product(product_id: str) -> Product:
    """The current row of one product from the database (not the cache); NotFoundError otherwise."""
    canonical = parse_uuid(product_id)
    row = fetch_product(canonical) if canonical else None
    if row is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    return Product.model_validate(row)
