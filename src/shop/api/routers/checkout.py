"""Checkout: cart → order (see ``shop.domain.checkout``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.models import CheckoutRequest, PlacedOrder
from shop.api.routes import new_router, path
from shop.declarations import IDEMPOTENCY_HEADER
from shop.domain import checkout as domain

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
    return domain.checkout(body, idempotency_key, router.lambda_context)
