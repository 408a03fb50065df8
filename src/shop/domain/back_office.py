"""The back office's reads and the product changes beyond create/edit/stock (``shop.domain.admin``).

- Orders: newest first with keyset pagination on ``(created_at, id)``, filtered by status and a
  creation-time range, searched by order id (exact) or e-mail (case-insensitive, exact or prefix).
  Read from the writer, like every order read: an order must show up right after checkout.
- Products: every product by name (archived ones too); archive (hidden from the storefront and not
  for sale: stock 0; never deleted, since order lines keep pointing at it).
- Images: a presigned S3 POST for one new object below ``MEDIA_PREFIX``; the policy S3 enforces
  fixes the key, the content type, the size range and, in AWS, SSE-KMS with the stack's key.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from shop.api.errors import NotFoundError, ValidationFailedError
from shop.api.models import AdminOrderPage, AdminProductPage, ImageUpload, Order, Product
from shop.db.connection import DictConnection, Role, run
from shop.declarations import IMAGE_CONTENT_TYPES, IMAGE_MAX_BYTES, IMAGE_UPLOAD_EXPIRES_SECONDS, MEDIA_PREFIX
from shop.domain import cache, catalog, orders
from shop.domain.customers import decode_cursor, encode_cursor
from shop.events import outbox
from shop.lazy import Lazy

_LIST_SQL = (
    """
SELECT o.id::text AS id, o.status, o.email, o.total_cents, o.shipping_cents, o.currency, o.created_at,
       o.refunded_cents, o.carrier, o.tracking_reference,
"""
    + orders.ORDER_ITEMS_SQL
    + """WHERE {where}
GROUP BY o.id
ORDER BY o.created_at DESC, o.id DESC
LIMIT %(limit)s
"""
)


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(
        "the request is not valid",
        {"errors": [{"loc": ["query", field], "type": "value_error", "message": message}]},
    )


def _like_prefix(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text.lower()) + "%"


def _search(q: str, conditions: list[str], params: dict[str, Any]) -> None:
    """An order id (exact) or an e-mail address or its beginning (case-insensitive)."""
    canonical = catalog.parse_uuid(q)
    if canonical is not None:
        conditions.append("o.id = %(order_id)s::uuid")
        params["order_id"] = canonical
        return
    conditions.append("lower(o.email) LIKE %(email)s")
    params["email"] = _like_prefix(q)


def list_orders(
    status: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    q: str | None,
    limit: int,
    cursor: str | None,
) -> AdminOrderPage:
    conditions: list[str] = ["TRUE"]
    params: dict[str, Any] = {"limit": limit + 1}
    for name, moment in (("created_from", created_from), ("created_to", created_to)):
        if moment is not None and moment.tzinfo is None:
            raise _invalid(name, "give a time zone (Z or an offset)")
    if created_from and created_to and created_from > created_to:
        raise _invalid("created_to", "must not be before created_from")
    if status is not None:
        conditions.append("o.status = %(status)s")
        params["status"] = status
    if created_from is not None:
        conditions.append("o.created_at >= %(created_from)s")
        params["created_from"] = created_from
    if created_to is not None:
        conditions.append("o.created_at < %(created_to)s")
        params["created_to"] = created_to
    if q:
        _search(q, conditions, params)
    if cursor is not None:
        params["after_at"], params["after_id"] = decode_cursor(cursor)
        conditions.append("(o.created_at, o.id) < (%(after_at)s, %(after_id)s::uuid)")
    query = _LIST_SQL.format(where=" AND ".join(conditions))

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return conn.execute(query, params).fetchall()

    rows = run(Role.WRITER, work)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if len(rows) > limit else None
    return AdminOrderPage(items=[orders.order_from_row(row) for row in page], next_cursor=next_cursor)


def get_order(order_id: str) -> Order:
    """Any order with its lines, address and status history (no order token: the caller is staff)."""
    canonical = catalog.parse_uuid(order_id)
    if canonical is None:
        raise NotFoundError("order not found", {"order_id": order_id[:64]})
    return orders.read(canonical)


# --------------------------------------------------------------------------- products


def list_products(limit: int, cursor: str | None) -> AdminProductPage:
    """Every product by (name, id), archived ones included; ``cursor`` is the last product's id."""
    params: dict[str, Any] = {"limit": limit + 1}
    after = ""
    if cursor is not None:
        after_id = catalog.parse_uuid(cursor)
        if after_id is None:
            raise _invalid("cursor", "not a cursor")
        params["after"] = after_id
        after = "WHERE (name, id) > (SELECT a.name, a.id FROM products AS a WHERE a.id = %(after)s::uuid)"
    query = f"SELECT {catalog.PRODUCT_COLUMNS} FROM products {after} ORDER BY name, id LIMIT %(limit)s"

    def work(conn: DictConnection) -> list[dict[str, Any]]:
        return conn.execute(query, params).fetchall()

    rows = run(Role.WRITER, work)
    items = [Product.model_validate(catalog.product_dict(row)) for row in rows[:limit]]
    return AdminProductPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


def _product_id(product_id: str) -> str:
    canonical = catalog.parse_uuid(product_id)
    if canonical is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    return canonical


def check_image_key(product_id: str, image_key: str | None) -> None:
    """An image key must be one issued for this product (its id is part of the key)."""
    if image_key is None:
        return
    canonical = catalog.parse_uuid(product_id)
    if canonical is not None and not image_key.startswith(f"{MEDIA_PREFIX}/products/{canonical}/"):
        raise ValidationFailedError(
            "the request is not valid",
            {"errors": [{"loc": ["body", "image_key"], "type": "value_error", "message": "not this product's image"}]},
        )


def archive_product(product_id: str) -> Product:
    """Hide the product from the storefront and stop its sales (stock 0); idempotent."""
    canonical = _product_id(product_id)
    query = f"""
        UPDATE products SET archived_at = coalesce(archived_at, now()), stock = 0, updated_at = now()
        WHERE id = %s RETURNING {catalog.PRODUCT_COLUMNS}
    """

    def work(conn: DictConnection) -> dict[str, Any] | None:
        with conn.transaction():  # the archive and its ProductChanged event commit together
            found = conn.execute(query, (canonical,)).fetchone()
            if found is not None:
                outbox.product_changed(conn, found["id"], "archived")
            return found

    row = run(Role.WRITER, work)
    if row is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    cache.invalidate()
    return Product.model_validate(catalog.product_dict(row))


# --------------------------------------------------------------------------- images


def _s3() -> Any:
    """S3 client for presigning (``AWS_ENDPOINT_URL_S3`` points it at the moto server locally).

    SigV4 (S3 refuses SigV2 for SSE-KMS) and virtual-hosted addressing only in AWS: the presigned
    URL names the bucket's regional endpoint, which the CSP's connect-src admits."""
    import os

    from botocore.config import Config

    from shop.aws import client, client_config

    override = os.environ.get("AWS_ENDPOINT_URL_S3")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = client_config().merge(
        Config(signature_version="s3v4", s3={"addressing_style": "path" if override else "virtual"})
    )
    return client("s3", config=config, endpoint_url=override or f"https://s3.{region}.amazonaws.com")


s3: Lazy[Any] = Lazy(_s3)


def image_upload(product_id: str, content_type: str) -> ImageUpload:
    """A presigned POST for a new image of ``product_id`` (which must exist)."""
    from shop import config

    settings = config.settings()
    bucket = settings.media_bucket
    if not bucket:
        # No media bucket configured: the operation does not exist on this deployment.
        raise NotFoundError("image uploads are not configured", {})
    canonical = _product_id(product_id)
    found = run(Role.WRITER, lambda conn: conn.execute("SELECT 1 FROM products WHERE id = %s", (canonical,)).fetchone())
    if found is None:
        raise NotFoundError("product not found", {"product_id": canonical})
    key = f"{MEDIA_PREFIX}/products/{canonical}/{secrets.token_hex(16)}.{IMAGE_CONTENT_TYPES[content_type]}"
    fields, conditions = upload_policy(content_type, settings.media_kms_key_id)
    presigned = s3().generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=IMAGE_UPLOAD_EXPIRES_SECONDS
    )
    return ImageUpload(
        url=presigned["url"],
        fields={name: str(value) for name, value in presigned["fields"].items()},
        key=key,
        max_bytes=IMAGE_MAX_BYTES,
        expires_in_seconds=IMAGE_UPLOAD_EXPIRES_SECONDS,
    )


def upload_policy(content_type: str, kms_key_id: str | None) -> tuple[dict[str, str], list[Any]]:
    """The form fields and the POST policy's conditions (besides bucket and key, which boto adds)."""
    fields = {"Content-Type": content_type, "Cache-Control": "public, max-age=31536000, immutable"}
    if kms_key_id:
        fields["x-amz-server-side-encryption"] = "aws:kms"
        fields["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", 1, IMAGE_MAX_BYTES])
    return fields, conditions
