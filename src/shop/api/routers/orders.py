"""Orders: read back with the secret token issued at checkout."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.models import Order
from shop.api.routes import new_router, path
from shop.declarations import ORDER_TOKEN_HEADER
from shop.domain import orders

router = new_router()


@router.get(path("get_order"), tags=["orders"], operation_id="get_order", summary="Get an order with its token")
def get_order(
    order_id: str,
    order_token: Annotated[
        str | None, Header(alias=ORDER_TOKEN_HEADER, max_length=256, description="token issued at checkout")
    ] = None,
) -> Order:
    return orders.get_order(order_id, order_token)
