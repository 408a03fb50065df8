"""The signed-in customer: ``GET /api/me`` and ``GET /api/me/orders`` (an ID token, both entry points)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.api.models import Me, OrderPage
from shop.api.routes import new_router, path
from shop.auth.requests import require_customer
from shop.domain import customers

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
