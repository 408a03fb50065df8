"""Payments through Stripe: a small typed gateway over the Stripe SDK (``shop.payments.stripe_gateway``).

Importing this package is free at cold start: the gateway module loads on first use of one of its
names, the Stripe SDK (about 0.6 s of imports) and the SSM client on the first payment call.
Callers use the module-level functions::

    from shop import payments

    intent = payments.create_intent(order_id, amount_cents, "eur", idempotency_key)  # -> Intent
    intent = payments.retrieve_intent(intent.id)
    intent = payments.cancel_intent(intent.id)
    refund = payments.refund(intent.id, None, idempotency_key)  # None: the whole remaining amount
    event = payments.verify_webhook(raw_body, stripe_signature_header)  # -> WebhookEvent

Errors are :class:`PaymentError` subclasses (``shop.payments.errors``); none carries a secret.
"""

from typing import TYPE_CHECKING, Any

from shop.payments.errors import (
    IntentNotFoundError,
    PaymentError,
    PaymentRejectedError,
    PaymentsNotConfiguredError,
    PaymentsUnavailableError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from shop.payments.stripe_gateway import (
        Intent,
        Refund,
        StripeGateway,
        WebhookEvent,
        cancel_intent,
        create_intent,
        gateway,
        refund,
        reset,
        retrieve_intent,
        stripe_idempotency_key,
        verify_webhook,
    )


def __getattr__(name: str) -> Any:
    """The gateway's names (the rest of ``__all__``), importing ``stripe_gateway`` on first use: the
    error types above are all the API's cold start needs (``shop.api.app`` maps them)."""
    if name in __all__:
        from shop.payments import stripe_gateway

        return getattr(stripe_gateway, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Intent",
    "IntentNotFoundError",
    "PaymentError",
    "PaymentRejectedError",
    "PaymentsNotConfiguredError",
    "PaymentsUnavailableError",
    "Refund",
    "StripeGateway",
    "WebhookEvent",
    "WebhookVerificationError",
    "cancel_intent",
    "create_intent",
    "gateway",
    "refund",
    "reset",
    "retrieve_intent",
    "stripe_idempotency_key",
    "verify_webhook",
]
