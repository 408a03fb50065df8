"""The back office: products, stock and orders (admin and staff routes, both entry points).

Who may call is declared once per route (``shop.declarations.ROUTES``, access ``admin`` or
``staff``) and checked by :func:`authorize` before the domain call: an API Gateway event whose
method required the partner API key (API Gateway validated it and names it in
``requestContext.identity``), or, on every entry point, a Cognito ID token in ``X-Id-Token`` that
the function verifies itself and whose groups include one of ``ACCESS_GROUPS[access]``: no token
401, a token without the group 403. An ALB event never carries an API-key identity (the ALB sets
no such field and a client cannot write ``requestContext``), so the API key is honoured on API
Gateway only.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.models import Fulfilment, Order, Product, ProductCreate, ProductUpdate, RefundRequest, StockUpdate
from shop.api.routes import new_router, path, route
from shop.auth.requests import require_group
from shop.declarations import ACCESS_GROUPS, IDEMPOTENCY_HEADER
from shop.domain import admin, fulfilment
from shop.domain import payments as order_payments

router = new_router()


def has_api_key(raw_event: dict[str, object]) -> bool:
    """Whether API Gateway validated the partner API key for this request (REST events only)."""
    context = raw_event.get("requestContext")
    identity = context.get("identity") if isinstance(context, dict) else None
    return isinstance(identity, dict) and bool(identity.get("apiKeyId") or identity.get("apiKey"))


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
