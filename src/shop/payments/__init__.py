"""Payments through Stripe: a small typed gateway over the Stripe SDK (``shop.payments.stripe_gateway``).

Importing this package is free at cold start: the Stripe SDK (about 0.6 s of imports) and the SSM
client are loaded on the first payment call. Callers use the module-level functions::

    from shop import payments

    intent = payments.create_intent(order_id, amount_cents, "eur", idempotency_key)  # -> Intent
    intent = payments.retrieve_intent(intent.id)
    intent = payments.cancel_intent(intent.id)
    refund = payments.refund(intent.id, None, idempotency_key)  # None: the whole remaining amount
    event = payments.verify_webhook(raw_body, stripe_signature_header)  # -> WebhookEvent

Errors are :class:`PaymentError` subclasses (``shop.payments.errors``); none carries a secret.
"""

from shop.payments.errors import (
    IntentNotFoundError,
    PaymentError,
    PaymentRejectedError,
    PaymentsNotConfiguredError,
    PaymentsUnavailableError,
    WebhookVerificationError,
)
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
