"""The storefront's public configuration (``GET /api/storefront-config``): what the browser needs to
load Stripe.js and to sign customers in with Cognito. Nothing here is secret; it comes from the
function's settings (``shop.config``), read once per cold start.
"""

from __future__ import annotations

from shop.api.models import CognitoBrowserConfig, StorefrontConfig, StripeBrowserConfig
from shop.config import AuthSettings, settings


def cognito_endpoint(auth: AuthSettings, region: str) -> str:
    """Where the browser reaches Cognito: the SDK's endpoint override when there is one (moto, locally),
    else the region's public endpoint."""
    if auth.endpoint_url:
        return auth.endpoint_url.rstrip("/") + "/"
    return f"https://cognito-idp.{region}.amazonaws.com/"


def _cognito(auth: AuthSettings) -> CognitoBrowserConfig:
    if not auth.configured or auth.user_pool_id is None:
        return CognitoBrowserConfig(region=None, client_id=None, endpoint=None)
    # A user pool id is "<region>_<id>": the pool's region, whatever region the function runs in.
    region = auth.user_pool_id.partition("_")[0]
    return CognitoBrowserConfig(region=region, client_id=auth.client_id, endpoint=cognito_endpoint(auth, region))


def storefront_config() -> StorefrontConfig:
    current = settings()
    stripe = current.browser_stripe
    return StorefrontConfig(
        stripe=StripeBrowserConfig(publishable_key=stripe.publishable_key, js_url=stripe.js_url),
        cognito=_cognito(current.auth),
    )
