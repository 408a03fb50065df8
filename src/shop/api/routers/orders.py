"""Orders: read back with the secret token issued at checkout, or by the signed-in customer who placed them."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.models import Order, ShippingRates
from shop.api.routes import new_router, path
from shop.auth.requests import current_identity
from shop.declarations import ORDER_TOKEN_HEADER
from shop.domain import fulfilment, orders

router = new_router()


@router.get(
    path("get_order"), tags=["orders"], operation_id="get_order", summary="Get an order (its token, or as its customer)"
)
def get_order(
    order_id: str,
    order_token: Annotated[
        str | None, Header(alias=ORDER_TOKEN_HEADER, max_length=256, description="token issued at checkout")
    ] = None,
) -> Order:
    return orders.get_order(order_id, order_token, current_identity(router.current_event))


@router.post(
    path("cancel_order"), tags=["orders"], operation_id="cancel_order", summary="Cancel an unpaid order (shopper)"
)
def cancel_order(
    order_id: str,
    order_token: Annotated[
        str | None, Header(alias=ORDER_TOKEN_HEADER, max_length=256, description="token issued at checkout")
    ] = None,
) -> Order:
    return fulfilment.cancel_by_shopper(order_id, order_token, current_identity(router.current_event))


@router.get(
    path("list_shipping_rates"),
    tags=["orders"],
    operation_id="list_shipping_rates",
    summary="Flat shipping rate per country zone (shown before payment)",
)
def list_shipping_rates() -> ShippingRates:
    return fulfilment.shipping_rates()
