"""Carts (DynamoDB sessions table; see ``shop.domain.carts``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from shop.api.models import UUID_PATTERN, Cart, CartItemUpdate
from shop.api.routes import new_router, path
from shop.domain import carts

router = new_router()


@router.post(path("create_cart"), tags=["cart"], operation_id="create_cart", status_code=201, summary="New cart")
def create_cart() -> Cart:
    return carts.create()


@router.get(path("get_cart"), tags=["cart"], operation_id="get_cart", summary="View a cart at current prices")
def get_cart(cart_id: str) -> Cart:
    return carts.get(cart_id)


@router.put(path("put_cart_item"), tags=["cart"], operation_id="put_cart_item", summary="Set a line's quantity")
def put_cart_item(cart_id: str, product_id: str, body: CartItemUpdate) -> Cart:
    return carts.set_item(cart_id, product_id, body.quantity)


@router.delete(path("delete_cart_item"), tags=["cart"], operation_id="delete_cart_item", summary="Remove a line")
def delete_cart_item(
    cart_id: str,
    # Removing a line is idempotent (an absent line is not an error), so a malformed product id
    # would otherwise be accepted silently.
    product_id: Annotated[str, Path(pattern=UUID_PATTERN)],
) -> Cart:
    return carts.remove_item(cart_id, product_id)
