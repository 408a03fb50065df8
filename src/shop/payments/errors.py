"""The errors ``shop.payments`` raises. Messages never contain a key, a secret or a signature."""

from __future__ import annotations


class PaymentError(Exception):
    """Base class of every payments error."""


class PaymentsNotConfiguredError(PaymentError):
    """A setting the payments code needs is missing or malformed (the message names it): a 5xx."""


class PaymentsUnavailableError(PaymentError):
    """Stripe (or SSM) could not be reached, timed out or answered 5xx/429: retry later (a 503)."""


class PaymentRejectedError(PaymentError):
    """Stripe refused the request (4xx other than 404), e.g. a refund larger than what is left.

    ``code`` is Stripe's error code when it gave one (``charge_already_refunded``, ...), and
    ``http_status`` its status.
    """

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class IntentNotFoundError(PaymentError):
    """No PaymentIntent has this id (for this key): Stripe answered 404."""


class WebhookVerificationError(PaymentError):
    """A webhook whose ``Stripe-Signature`` is missing, forged or stale, or whose body is not an event.

    ``reason`` is ``"signature"`` (missing/malformed/wrong), ``"stale"`` (timestamp outside the
    tolerance) or ``"payload"`` (signed but not a Stripe event). The route answers 400, changes nothing.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
