"""Admin: create and update products and stock (API Gateway with an API key only).

The ALB resolver does not include this router (CloudFront's edge function also rejects
``/api/admin/*``). On API Gateway the method requires an API key; as a second line of defence the
handler refuses an admin request whose event carries no API key identity.
"""

from __future__ import annotations

from typing import Any

import psycopg

from shop.api import cache, store
from shop.api.errors import ApiError, ConflictError, NotFoundError
from shop.api.models import Product, ProductCreate, ProductUpdate, StockUpdate
from shop.api.routes import new_router, path
from shop.db.connection import DictConnection, Role, run

router = new_router()
_COLUMNS = store.PRODUCT_COLUMNS


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"


def _require_api_key() -> None:
    identity = router.current_event.raw_event.get("requestContext", {}).get("identity") or {}
    if not (identity.get("apiKey") or identity.get("apiKeyId")):
        raise ForbiddenError("admin routes need an API key")


def _write(query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    def work(conn: DictConnection) -> dict[str, Any] | None:
        return conn.execute(query, params).fetchone()

    try:
        row = run(Role.WRITER, work)
    except psycopg.errors.UniqueViolation as exc:
        raise ConflictError("a product with this sku exists", {"sku": params.get("sku")}) from exc
    if row is not None:
        cache.invalidate()
    return store.product_dict(row) if row is not None else None


@router.post(
    path("create_product"), tags=["admin"], operation_id="create_product", status_code=201, summary="Create a product"
)
def create_product(body: ProductCreate) -> Product:
    _require_api_key()
    row = _write(
        f"""
        INSERT INTO products (sku, name, description, category, price_cents, stock, image_url)
        VALUES (%(sku)s, %(name)s, %(description)s, %(category)s, %(price_cents)s, %(stock)s, %(image_url)s)
        RETURNING {_COLUMNS}
        """,
        body.model_dump(),
    )
    if row is None:  # pragma: no cover - INSERT ... RETURNING always returns the row
        raise RuntimeError("insert returned nothing")
    return Product.model_validate(row)


@router.put(path("update_product"), tags=["admin"], operation_id="update_product", summary="Change product fields")
def update_product(product_id: str, body: ProductUpdate) -> Product:
    _require_api_key()
    canonical = store.parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    changes = body.model_dump(include=body.model_fields_set)
    # Column names come from the model's fields, never from the request's keys.
    allowed = ("name", "description", "category", "price_cents", "image_url")
    assignments = ", ".join(f"{column} = %({column})s" for column in allowed if column in changes)
    row = _write(
        f"UPDATE products SET {assignments}, updated_at = now() WHERE id = %(id)s RETURNING {_COLUMNS}",
        {**changes, "id": canonical},
    )
    if row is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return Product.model_validate(row)


@router.put(path("set_stock"), tags=["admin"], operation_id="set_stock", summary="Set a product's stock")
def set_stock(product_id: str, body: StockUpdate) -> Product:
    _require_api_key()
    canonical = store.parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    row = _write(
        f"UPDATE products SET stock = %(stock)s, updated_at = now() WHERE id = %(id)s RETURNING {_COLUMNS}",
        {"stock": body.stock, "id": canonical},
    )
    if row is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    return Product.model_validate(row)
