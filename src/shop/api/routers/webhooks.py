"""Stripe webhooks (see ``shop.domain.payments.apply_event``): verified, applied once, 2xx after commit.

Public on both entry points (Stripe calls it; the edge lets the path through). The signature is
checked over the raw body before anything is read from it; a bad or stale one is 400 and changes
nothing.
"""

from __future__ import annotations

from shop import payments
from shop.api.errors import ApiError
from shop.api.models import WebhookReceipt
from shop.api.routes import new_router, path
from shop.domain import payments as domain

router = new_router()


class WebhookRejectedError(ApiError, status=400, code="webhook_rejected"):
    """The Stripe-Signature header is missing, wrong or stale, or the body is not a Stripe event."""


def _signature() -> str | None:
    headers = router.current_event.headers or {}
    for name, value in headers.items():
        if name.lower() == "stripe-signature":
            return str(value)
    return None


@router.post(path("stripe_webhook"), tags=["webhooks"], operation_id="stripe_webhook", summary="Stripe events")
def stripe_webhook() -> WebhookReceipt:
    event_body = router.current_event.decoded_body or ""
    raw = event_body.encode() if isinstance(event_body, str) else bytes(event_body)
    try:
        event = payments.verify_webhook(raw, _signature())
    except payments.WebhookVerificationError as error:
        raise WebhookRejectedError(str(error), {"reason": error.reason}) from None
    return WebhookReceipt(duplicate=not domain.apply_event(event))
