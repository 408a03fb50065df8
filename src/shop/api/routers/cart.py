"""Carts (DynamoDB sessions table)."""

from __future__ import annotations

from shop.api import carts, store
from shop.api.errors import NotFoundError, OutOfStockError
from shop.api.models import Cart, CartItemUpdate
from shop.api.routes import new_router, path

router = new_router()


@router.post(path("create_cart"), tags=["cart"], operation_id="create_cart", status_code=201, summary="New cart")
def create_cart() -> Cart:
    cart_id, items, expires_at = carts.create()
    return Cart.model_validate(carts.view(cart_id, items, expires_at))


@router.get(path("get_cart"), tags=["cart"], operation_id="get_cart", summary="View a cart at current prices")
def get_cart(cart_id: str) -> Cart:
    items, expires_at = carts.load(cart_id)
    return Cart.model_validate(carts.view(cart_id, items, expires_at))


@router.put(path("put_cart_item"), tags=["cart"], operation_id="put_cart_item", summary="Set a line's quantity")
def put_cart_item(cart_id: str, product_id: str, body: CartItemUpdate) -> Cart:
    canonical = store.parse_uuid(product_id)
    product = store.fetch_product(canonical) if canonical else None
    if canonical is None or product is None:
        raise NotFoundError("product not found", {"product_id": product_id[:64]})
    if body.quantity > product["stock"]:
        raise OutOfStockError(
            "not enough stock",
            {"items": [{"product_id": canonical, "requested": body.quantity, "available": product["stock"]}]},
        )
    items, expires_at = carts.set_quantity(cart_id, canonical, body.quantity)
    return Cart.model_validate(carts.view(cart_id, items, expires_at))


@router.delete(path("delete_cart_item"), tags=["cart"], operation_id="delete_cart_item", summary="Remove a line")
def delete_cart_item(cart_id: str, product_id: str) -> Cart:
    canonical = store.parse_uuid(product_id) or product_id[:64]
    items, expires_at = carts.remove(cart_id, canonical)
    return Cart.model_validate(carts.view(cart_id, items, expires_at))
