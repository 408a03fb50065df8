"""The storefront's public configuration (see ``shop.domain.storefront``)."""

from __future__ import annotations

from shop.api.models import StorefrontConfig
from shop.api.routes import new_router, path
from shop.domain import storefront as domain

router = new_router()


@router.get(
    path("get_storefront_config"),
    tags=["storefront"],
    operation_id="get_storefront_config",
    summary="Public settings for the storefront's browser code (Stripe.js, Cognito sign-in)",
)
def get_storefront_config() -> StorefrontConfig:
    return domain.storefront_config()
