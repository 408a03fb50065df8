"""Back office: create and change products and stock (PostgreSQL writer; the catalog cache is
invalidated after every committed change)."""

from __future__ import annotations

from typing import Any

from shop.api.errors import ConflictError, NotFoundError
from shop.api.models import Product, ProductCreate, ProductUpdate, StockUpdate
from shop.db.connection import DictConnection, Role, run
from shop.domain import cache, catalog
from shop.events import outbox

_COLUMNS = catalog.PRODUCT_COLUMNS
# Column names come from the model's fields, never from the request's keys.
_UPDATABLE = ("name", "description", "category", "price_cents", "image_url", "image_key")


def _write(query: str, params: dict[str, Any], change: outbox.ProductChange) -> Product | None:
    import psycopg  # on the first write, not at cold start

    def work(conn: DictConnection) -> dict[str, Any] | None:
        with conn.transaction():  # the change and its ProductChanged event commit together
            row = conn.execute(query, params).fetchone()
            if row is not None:
                outbox.product_changed(conn, row["id"], change)
            return row

    try:
        row = run(Role.WRITER, work)
    except psycopg.errors.UniqueViolation as exc:
        raise ConflictError("a product with this sku exists", {"sku": params.get("sku")}) from exc
    if row is None:
        return None
    cache.invalidate()
    return Product.model_validate(catalog.product_dict(row))


def _update(product_id: str, assignments: str, params: dict[str, Any], change: outbox.ProductChange) -> Product:
    canonical = catalog.parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    product = _write(
        f"UPDATE products SET {assignments}, updated_at = now() WHERE id = %(id)s RETURNING {_COLUMNS}",
        {**params, "id": canonical},
        change,
    )
    if product is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return product


def create_product(body: ProductCreate) -> Product:
    product = _write(
        f"""
        INSERT INTO products (sku, name, description, category, price_cents, stock, image_url)
        VALUES (%(sku)s, %(name)s, %(description)s, %(category)s, %(price_cents)s, %(stock)s, %(image_url)s)
        RETURNING {_COLUMNS}
        """,
        body.model_dump(),
        "created",
    )
    if product is None:  # pragma: no cover - INSERT ... RETURNING always returns the row
        raise RuntimeError("insert returned nothing")
    return product


def update_product(product_id: str, body: ProductUpdate) -> Product:
    changes = body.model_dump(include=body.model_fields_set)
    assignments = ", ".join(f"{column} = %({column})s" for column in _UPDATABLE if column in changes)
    return _update(product_id, assignments, changes, "updated")


def set_stock(product_id: str, body: StockUpdate) -> Product:
    return _update(product_id, "stock = %(stock)s", {"stock": body.stock}, "stock")
