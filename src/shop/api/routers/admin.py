"""The back office: products, stock and orders (admin and staff routes, both entry points).

Who may call is declared once per route (``shop.declarations.ROUTES``, access ``admin`` or
``staff``) and checked by :func:`authorize` before the domain call: an API Gateway event that the
back-office authorizer admitted by a partner API key (API Gateway validated it and names it in
``requestContext.identity``; see :func:`has_api_key`), or, on every entry point, a Cognito ID
token in ``X-Id-Token`` that the function verifies itself and whose groups include one of
``ACCESS_GROUPS[access]``: no token 401, a token without the group 403. An ALB event never
carries an API-key identity (the ALB sets no such field and a client cannot write
``requestContext``), so the API key is honoured on API Gateway only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from shop.api.models import (
    UUID_PATTERN,
    AdminOrderPage,
    AdminProductPage,
    Fulfilment,
    ImageUpload,
    ImageUploadRequest,
    Order,
    OrderStatus,
    Product,
    ProductCreate,
    ProductUpdate,
    RefundRequest,
    StockUpdate,
)
from shop.api.routes import new_router, path, route
from shop.auth.requests import require_group
from shop.declarations import ACCESS_GROUPS, ADMITTED_BY_API_KEY, AUTHORIZER_ADMITTED_BY, IDEMPOTENCY_HEADER
from shop.domain import admin, back_office, fulfilment
from shop.domain import payments as order_payments

router = new_router()


def has_api_key(raw_event: dict[str, object]) -> bool:
    """Whether a *partner* API key admitted this request (API Gateway REST events only).

    All three must hold: API Gateway validated a key (``requestContext.identity.apiKeyId``), the
    back-office authorizer admitted the caller by that key (``requestContext.authorizer``'s
    ``admittedBy`` is ``api_key``: a client cannot write ``requestContext``), and the key is not
    the back-office key (``BACK_OFFICE_API_KEY_ID``), which API Gateway meters token callers on.
    A token-only caller so never gets partner powers: it needs its token and group here too."""
    from shop.config import settings

    context = raw_event.get("requestContext")
    if not isinstance(context, dict):
        return False
    identity, authorizer = context.get("identity"), context.get("authorizer")
    key_id = identity.get("apiKeyId") if isinstance(identity, dict) else None
    if not isinstance(key_id, str) or not key_id or key_id == settings().back_office_api_key_id:
        return False
    return isinstance(authorizer, dict) and authorizer.get(AUTHORIZER_ADMITTED_BY) == ADMITTED_BY_API_KEY


def authorize(operation: str) -> None:
    """Admit the caller of ``operation`` or raise 401/403 (see the module docstring)."""
    event = router.current_event
    if has_api_key(event.raw_event):
        return
    require_group(event, *ACCESS_GROUPS[route(operation).access])


@router.post(
    path("create_product"), tags=["admin"], operation_id="create_product", status_code=201, summary="Create a product"
)
def create_product(body: ProductCreate) -> Product:
    authorize("create_product")
    return admin.create_product(body)


@router.put(path("update_product"), tags=["admin"], operation_id="update_product", summary="Change product fields")
def update_product(product_id: str, body: ProductUpdate) -> Product:
    authorize("update_product")
    back_office.check_image_key(product_id, body.image_key)
    return admin.update_product(product_id, body)


@router.put(path("set_stock"), tags=["admin"], operation_id="set_stock", summary="Set a product's stock")
def set_stock(product_id: str, body: StockUpdate) -> Product:
    authorize("set_stock")
    return admin.set_stock(product_id, body)


@router.post(path("fulfil_order"), tags=["admin"], operation_id="fulfil_order", summary="Mark a paid order shipped")
def fulfil_order(order_id: str, body: Fulfilment) -> Order:
    authorize("fulfil_order")
    return fulfilment.fulfil(order_id, body)


_ADMIN_KEY_DOC = "repeating a request with the same key returns its result and refunds nothing twice"


@router.post(path("refund_order"), tags=["admin"], operation_id="refund_order", summary="Refund a paid order")
def refund_order(
    order_id: str,
    body: RefundRequest,
    idempotency_key: Annotated[
        str, Header(alias=IDEMPOTENCY_HEADER, min_length=1, max_length=128, description=_ADMIN_KEY_DOC)
    ],
) -> Order:
    authorize("refund_order")
    return order_payments.refund(order_id, body.amount_cents, idempotency_key)


@router.post(
    path("admin_cancel_order"),
    tags=["admin"],
    operation_id="admin_cancel_order",
    summary="Cancel an unfulfilled order (a paid one is refunded in full; stock is released)",
)
def admin_cancel_order(
    order_id: str,
    idempotency_key: Annotated[
        str, Header(alias=IDEMPOTENCY_HEADER, min_length=1, max_length=128, description=_ADMIN_KEY_DOC)
    ],
) -> Order:
    authorize("admin_cancel_order")
    return order_payments.admin_cancel(order_id, idempotency_key)


DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_CURSOR = "next_cursor of the previous page"


@router.get(path("list_admin_orders"), tags=["admin"], operation_id="list_admin_orders", summary="Orders, newest first")
def list_admin_orders(
    status: Annotated[OrderStatus | None, Query(description="only orders in this status")] = None,
    created_from: Annotated[datetime | None, Query(description="created at or after (ISO-8601 with zone)")] = None,
    created_to: Annotated[datetime | None, Query(description="created before (ISO-8601 with zone)")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=254, description="an order id, or an e-mail address or its start")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512, description=_CURSOR)] = None,
) -> AdminOrderPage:
    authorize("list_admin_orders")
    return back_office.list_orders(status, created_from, created_to, q, limit, cursor)


@router.get(
    path("get_admin_order"), tags=["admin"], operation_id="get_admin_order", summary="An order with its history"
)
def get_admin_order(order_id: str) -> Order:
    authorize("get_admin_order")
    return back_office.get_order(order_id)


@router.get(
    path("list_admin_products"),
    tags=["admin"],
    operation_id="list_admin_products",
    summary="Every product by name, archived ones included",
)
def list_admin_products(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=UUID_PATTERN, description=_CURSOR)] = None,
) -> AdminProductPage:
    authorize("list_admin_products")
    return back_office.list_products(limit, cursor)


@router.post(
    path("archive_product"),
    tags=["admin"],
    operation_id="archive_product",
    summary="Archive a product (hidden from the storefront, stock 0; never deleted)",
)
def archive_product(product_id: str) -> Product:
    authorize("archive_product")
    return back_office.archive_product(product_id)


@router.post(
    path("create_image_upload"),
    tags=["admin"],
    operation_id="create_image_upload",
    status_code=201,
    summary="A presigned S3 POST for a product image (then set image_key)",
)
def create_image_upload(product_id: str, body: ImageUploadRequest) -> ImageUpload:
    authorize("create_image_upload")
    return back_office.image_upload(product_id, body.content_type)
