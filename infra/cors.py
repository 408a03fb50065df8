"""The CORS decision: which origin browsers may call the API from, on both entry points.

The allowed headers, exposed headers and max-age are the shop's contract (``shop.declarations``);
only the origin depends on the stack.
"""

from __future__ import annotations

import pulumi

from infra.settings import Settings


def cors_allow_origin(settings: Settings, storefront_origin: pulumi.Input[str]) -> pulumi.Input[str]:
    """The storefront itself reaches the API through its own CloudFront domain (same origin, no CORS
    needed). Outside prod any origin may call (local tools, previews); prod admits only the
    storefront's origin (its custom domain, or the distribution's domain)."""
    return "*" if not settings.is_prod else storefront_origin
