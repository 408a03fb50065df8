"""Checkout: cart → order (see ``shop.domain.checkout``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from shop.api.models import CheckoutRequest, PlacedOrder
from shop.api.routes import new_router, path
from shop.auth.requests import current_identity
from shop.declarations import IDEMPOTENCY_HEADER
from shop.domain import checkout as domain

router = new_router()


@router.post(
    path("checkout"),
    tags=["checkout"],
    operation_id="checkout",
    status_code=201,
    summary="Place an order",
    description=(
        "As a guest: `email` is required. Signed in (the customer's Cognito ID token in `X-Id-Token`): the"
        " order is the customer's (listed by GET /api/me/orders, readable without the order token) and its"
        " e-mail is the verified address in the token; a body `email` is ignored. An invalid token is 401,"
        " never a guest checkout; an account without a verified address is 403 `email_not_verified`."
    ),
)
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
    # Signed in (a valid X-Id-Token): the order is the customer's. A token that fails is 401, never a guest checkout.
    return domain.checkout(body, idempotency_key, router.lambda_context, current_identity(router.current_event))
