"""Admin: create and update products and stock (API Gateway with an API key only).

The ALB resolver does not include this router (CloudFront's edge function also rejects
``/api/admin/*``). On API Gateway the method requires an API key; as a second line of defence the
handler refuses an admin request whose event carries no API key identity.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.errors import ForbiddenError
from shop.api.models import Fulfilment, Order, Product, ProductCreate, ProductUpdate, RefundRequest, StockUpdate
from shop.api.routes import new_router, path
from shop.declarations import IDEMPOTENCY_HEADER
from shop.domain import admin, fulfilment
from shop.domain import payments as order_payments

router = new_router()


def _require_api_key() -> None:
    identity = router.current_event.raw_event.get("requestContext", {}).get("identity") or {}
    if not (identity.get("apiKey") or identity.get("apiKeyId")):
        raise ForbiddenError("admin routes need an API key")


@router.post(
    path("create_product"), tags=["admin"], operation_id="create_product", status_code=201, summary="Create a product"
)
def create_product(body: ProductCreate) -> Product:
    _require_api_key()
    return admin.create_product(body)


@router.put(path("update_product"), tags=["admin"], operation_id="update_product", summary="Change product fields")
def update_product(product_id: str, body: ProductUpdate) -> Product:
    _require_api_key()
    return admin.update_product(product_id, body)


@router.put(path("set_stock"), tags=["admin"], operation_id="set_stock", summary="Set a product's stock")
def set_stock(product_id: str, body: StockUpdate) -> Product:
    _require_api_key()
    return admin.set_stock(product_id, body)


@router.post(path("fulfil_order"), tags=["admin"], operation_id="fulfil_order", summary="Mark a paid order shipped")
def fulfil_order(order_id: str, body: Fulfilment) -> Order:
    _require_api_key()
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
    _require_api_key()
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
    _require_api_key()
    return order_payments.admin_cancel(order_id, idempotency_key)
