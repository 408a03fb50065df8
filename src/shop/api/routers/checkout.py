"""Checkout: cart → order (see ``shop.api.checkout``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api import checkout as service
from shop.api.models import CheckoutRequest, PlacedOrder
from shop.api.routes import new_router, path
from shop.api.runtime import lambda_context
from shop.declarations import IDEMPOTENCY_HEADER

router = new_router()


@router.post(path("checkout"), tags=["checkout"], operation_id="checkout", status_code=201, summary="Place an order")
def checkout(
    body: CheckoutRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            min_length=1,
            max_length=128,
            description="retries with the same key return the first result and create nothing",
        ),
    ] = None,
) -> PlacedOrder:
    order = service.checkout(body.cart_id, body.email, idempotency_key, lambda_context.get())
    return PlacedOrder.model_validate(order)
