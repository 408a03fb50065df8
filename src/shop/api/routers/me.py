"""The signed-in customer: ``GET /api/me``, ``GET /api/me/orders`` and ``POST /api/me/cart`` (an ID
token, both entry points)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api.models import CartMerge, Me, MergedCart, OrderPage
from shop.api.routes import new_router, path
from shop.auth.requests import require_customer
from shop.domain import customer_carts, customers

router = new_router()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@router.get(path("get_me"), tags=["me"], operation_id="get_me", summary="The signed-in customer")
def get_me() -> Me:
    return customers.me(require_customer(router.current_event))


@router.get(path("list_my_orders"), tags=["me"], operation_id="list_my_orders", summary="My orders, newest first")
def list_my_orders(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> OrderPage:
    return customers.list_orders(require_customer(router.current_event), limit, cursor)


@router.post(
    path("merge_my_cart"),
    tags=["me"],
    operation_id="merge_my_cart",
    summary="My cart, with the anonymous cart merged into it",
    description=(
        "Call on sign-in with the cart filled before it: quantities add up, capped by stock and the"
        " per-line maximum (capped lines are listed in `adjusted`), and the anonymous cart is gone"
        " afterwards. Retrying is safe: a cart is merged once. Without `cart_id`: the customer's cart"
        " (created empty if there is none), the same on every device."
    ),
)
def merge_my_cart(body: CartMerge) -> MergedCart:
    return customer_carts.merge(require_customer(router.current_event), body.cart_id)
