"""Admin: create and update products and stock (API Gateway with an API key only).

The ALB resolver does not include this router (CloudFront's edge function also rejects
``/api/admin/*``). On API Gateway the method requires an API key; as a second line of defence the
handler refuses an admin request whose event carries no API key identity.
"""

from __future__ import annotations

from shop.api.errors import ForbiddenError
from shop.api.models import Fulfilment, Order, Product, ProductCreate, ProductUpdate, StockUpdate
from shop.api.routes import new_router, path
from shop.domain import admin, fulfilment

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
