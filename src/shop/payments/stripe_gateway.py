"""The Stripe gateway: PaymentIntents, refunds and webhook verification, typed, over the Stripe SDK.

Contract for callers (checkout, order lifecycle, webhooks):

- **Stripe's idempotency is a bonus, not the guarantee.** ``create_intent`` and ``refund`` send a
  Stripe ``Idempotency-Key`` derived from the caller's key, so Stripe itself collapses retries; but
  localstripe ignores that header, and Stripe forgets keys after 24 h. The caller stores
  ``Intent.id`` with the order in the same transaction as the order and, on a retry, calls
  ``retrieve_intent`` instead of creating another.
- Amounts are integers in the currency's minor unit (cents); currencies are ISO 4217, lower-case
  on the wire.
- Every call reads the secret key from SSM (cached, see ``shop.payments.settings``); network
  failures, timeouts and Stripe 5xx/429 become :class:`PaymentsUnavailableError` after the SDK's
  retries, so a route answers 503 and the caller may retry.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shop.declarations import STRIPE_WEBHOOK_TOLERANCE_SECONDS, Env
from shop.lazy import Lazy
from shop.payments import settings as payment_settings
from shop.payments.errors import (
    IntentNotFoundError,
    PaymentRejectedError,
    PaymentsNotConfiguredError,
    PaymentsUnavailableError,
    WebhookVerificationError,
)

# Seconds for one HTTP call to Stripe, and how many times the SDK retries a failed one (with
# backoff; it reuses the idempotency key). 3 attempts x 8 s stays under the API's 29 s limit.
REQUEST_TIMEOUT_SECONDS = 8
NETWORK_RETRIES = 2
MAX_IDEMPOTENCY_KEY_LENGTH = 255  # Stripe's limit
# The metadata key under which a refund we create carries its reference (see StripeGateway.refund).
REFUND_REFERENCE_METADATA = "shop_refund"


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the shop needs it. ``client_secret`` goes to the shopper's browser only."""

    id: str
    status: str  # requires_payment_method | requires_confirmation | requires_action | processing | succeeded | canceled
    amount_cents: int
    currency: str
    client_secret: str | None
    order_id: str | None  # metadata.order_id


@dataclass(frozen=True)
class Refund:
    id: str
    intent_id: str | None
    amount_cents: int
    currency: str
    status: str  # pending | succeeded | failed | canceled


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Stripe event. ``data_object`` is the event's ``data.object`` as plain JSON."""

    id: str
    type: str
    created: int
    livemode: bool
    data_object: Mapping[str, Any]

    @property
    def intent_id(self) -> str | None:
        """The PaymentIntent the event is about: the object itself, or a charge/refund's ``payment_intent``."""
        obj = self.data_object
        value = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        return value if isinstance(value, str) else None

    @property
    def order_id(self) -> str | None:
        """``metadata.order_id`` of the object, when it carries one (PaymentIntents we created do)."""
        metadata = self.data_object.get("metadata")
        value = metadata.get("order_id") if isinstance(metadata, Mapping) else None
        return value if isinstance(value, str) else None


def stripe_idempotency_key(scope: str, *parts: str) -> str:
    """A Stripe Idempotency-Key for ``scope`` (``intent``, ``refund``, ...) derived from ``parts``.

    Deterministic (a retry of the same request sends the same key), scoped (a refund never collides
    with an intent), and hashed (the caller's key may be long or contain anything).
    """
    if not parts or not all(parts):
        raise ValueError("an idempotency key needs non-empty parts")
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"shop-{scope}-{digest}"[:MAX_IDEMPOTENCY_KEY_LENGTH]


def _intent(obj: Any) -> Intent:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    metadata = data.get("metadata") or {}
    return Intent(
        id=data["id"],
        status=data["status"],
        amount_cents=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        client_secret=data.get("client_secret"),
        order_id=metadata.get("order_id"),
    )


def _refund(obj: Any) -> Refund:
    data = obj.to_dict()
    return Refund(
        id=data["id"],
        intent_id=data.get("payment_intent"),
        amount_cents=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        status=data["status"],
    )


def _translate(error: Exception, *, intent_id: str | None = None) -> Exception:
    """A Stripe SDK error as one of ours (never with the key in the message)."""
    import stripe

    if isinstance(error, stripe.InvalidRequestError) and error.http_status == 404:
        return IntentNotFoundError(f"no PaymentIntent {intent_id}" if intent_id else "no such Stripe object")
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return PaymentsNotConfiguredError(f"Stripe refused the secret key ({type(error).__name__})")
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentsUnavailableError(f"Stripe unreachable or busy ({type(error).__name__})")
    if isinstance(error, stripe.StripeError):
        status = error.http_status
        if status is None or status >= 500:
            return PaymentsUnavailableError(f"Stripe answered {status}")
        return PaymentRejectedError(error.user_message or str(error), code=error.code, http_status=status)
    return error


class StripeGateway:
    """Stripe behind five typed calls. Thread-safe; one per process (:data:`gateway`)."""

    def __init__(self, settings: payment_settings.PaymentsSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._client: tuple[str, Any] | None = None  # (api key, StripeClient)

    # ------------------------------------------------------------ secrets and client
    def _secret_key(self) -> str:
        s = self._settings
        return payment_settings.secret(Env.STRIPE_SECRET_KEY_PARAMETER, s.secret_key_parameter, s.cache_seconds)

    def _webhook_secret(self) -> str:
        s = self._settings
        return payment_settings.secret(Env.STRIPE_WEBHOOK_SECRET_PARAMETER, s.webhook_secret_parameter, s.cache_seconds)

    def client(self) -> Any:
        """The ``stripe.StripeClient`` for the current key (rebuilt when the cached key changes)."""
        key = self._secret_key()
        with self._lock:
            if self._client is None or self._client[0] != key:
                import stripe

                base = {"api": self._settings.api_base} if self._settings.api_base else None
                client = stripe.StripeClient(
                    key,
                    base_addresses=base,  # type: ignore[arg-type]
                    max_network_retries=NETWORK_RETRIES,
                    http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_SECONDS),
                )
                self._client = (key, client)
            return self._client[1]

    # ------------------------------------------------------------ PaymentIntents
    def create_intent(self, order_id: str, amount_cents: int, currency: str, idempotency_key: str) -> Intent:
        """A new PaymentIntent for ``order_id`` (metadata ``order_id``), card payments, automatic capture.

        Stripe's idempotency key is derived from ``order_id`` and the request's ``idempotency_key``.
        """
        if amount_cents <= 0:
            raise ValueError("amount_cents must be positive")
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError("currency must be an ISO 4217 code")
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "metadata": {"order_id": order_id},
            "payment_method_types": ["card"],
        }
        options = {"idempotency_key": stripe_idempotency_key("intent", order_id, idempotency_key)}
        try:
            created = self.client().v1.payment_intents.create(params=params, options=options)
        except Exception as error:
            raise _translate(error) from error
        return _intent(created)

    def retrieve_intent(self, intent_id: str) -> Intent:
        """The PaymentIntent ``intent_id`` as Stripe has it now; IntentNotFoundError when there is none."""
        try:
            return _intent(self.client().v1.payment_intents.retrieve(intent_id))
        except Exception as error:
            raise _translate(error, intent_id=intent_id) from error

    def cancel_intent(self, intent_id: str) -> Intent:
        """Cancel ``intent_id`` (no charge can follow). Cancelling a cancelled intent returns it as is."""
        try:
            return _intent(self.client().v1.payment_intents.cancel(intent_id))
        except Exception as error:
            translated = _translate(error, intent_id=intent_id)
            if isinstance(translated, PaymentRejectedError):
                current = self.retrieve_intent(intent_id)
                if current.status == "canceled":
                    return current
            raise translated from error

    # ------------------------------------------------------------ refunds
    def refund(self, intent_id: str, amount_cents: int | None, idempotency_key: str) -> Refund:
        """Refund ``amount_cents`` of ``intent_id``'s charge (None: all that is left), once per
        ``idempotency_key``.

        The refund carries a reference derived from ``intent_id`` and ``idempotency_key`` in its
        metadata, and before creating one the intent's refunds are listed: a refund with that
        reference is returned instead of refunding again. So a retry after our commit failed (Stripe
        refunded, our database does not know) never refunds twice, even where Stripe's own
        Idempotency-Key does not help (localstripe ignores it; Stripe forgets keys after 24 hours).
        The answer is authoritative: the caller does not wait for ``charge.refunded``.
        """
        if amount_cents is not None and amount_cents <= 0:
            raise ValueError("amount_cents must be positive (or None for a full refund)")
        reference = stripe_idempotency_key("refund", intent_id, idempotency_key)
        earlier = self.find_refund(intent_id, reference)
        if earlier is not None:
            return earlier
        params: dict[str, Any] = {"payment_intent": intent_id, "metadata": {REFUND_REFERENCE_METADATA: reference}}
        if amount_cents is not None:
            params["amount"] = amount_cents
        amount_part = "full" if amount_cents is None else str(amount_cents)
        options = {"idempotency_key": stripe_idempotency_key("refund", intent_id, amount_part, idempotency_key)}
        try:
            return _refund(self.client().v1.refunds.create(params=params, options=options))
        except Exception as error:
            raise _translate(error, intent_id=intent_id) from error

    def find_refund(self, intent_id: str, reference: str) -> Refund | None:
        """The refund of ``intent_id`` that carries ``reference`` in its metadata, if Stripe has one.

        Refunds are listed by the intent's charge: an intent never charged has none (localstripe
        answers a list by ``payment_intent`` of such an intent with a 500, Stripe with an empty list).
        """
        try:
            charge = self.client().v1.payment_intents.retrieve(intent_id).to_dict().get("latest_charge")
            if isinstance(charge, dict):
                charge = charge.get("id")
            if not isinstance(charge, str):
                return None
            page = self.client().v1.refunds.list(params={"charge": charge, "limit": 100})
            for item in page.auto_paging_iter():
                metadata = item.to_dict().get("metadata") or {}
                if metadata.get(REFUND_REFERENCE_METADATA) == reference:
                    return _refund(item)
        except Exception as error:
            raise _translate(error, intent_id=intent_id) from error
        return None

    # ------------------------------------------------------------ webhooks
    def verify_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        """The event in ``payload`` if ``signature_header`` (``Stripe-Signature``) is valid and fresh.

        Verification is the SDK's (``stripe.Webhook.construct_event``) with the endpoint secret from
        SSM and a tolerance of ``STRIPE_WEBHOOK_TOLERANCE_SECONDS``; anything else raises
        WebhookVerificationError before the payload is trusted.
        """
        if not signature_header:
            raise WebhookVerificationError("missing Stripe-Signature header", "signature")
        secret = self._webhook_secret()
        import stripe

        try:
            event = stripe.Webhook.construct_event(
                payload, signature_header, secret, tolerance=STRIPE_WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            stale = "tolerance" in str(error).lower()
            reason = "stale" if stale else "signature"
            raise WebhookVerificationError(f"webhook signature rejected ({reason})", reason) from None
        except (ValueError, TypeError, AttributeError, KeyError):
            # Signed, but not JSON or not an object (the SDK fails on a JSON list with AttributeError).
            raise WebhookVerificationError("webhook body is not a Stripe event", "payload") from None
        data = event.to_dict()
        try:
            obj = data["data"]["object"]
            if not (isinstance(data["id"], str) and isinstance(data["type"], str) and isinstance(obj, dict)):
                raise TypeError
            return WebhookEvent(
                id=data["id"],
                type=data["type"],
                created=int(data.get("created") or 0),
                livemode=bool(data.get("livemode")),
                data_object=json.loads(json.dumps(obj)),
            )
        except (KeyError, TypeError, ValueError):
            raise WebhookVerificationError("webhook body is not a Stripe event", "payload") from None


gateway: Lazy[StripeGateway] = Lazy(lambda: StripeGateway(payment_settings.settings()))
"""The process's gateway, built on first use from the environment."""


def create_intent(order_id: str, amount_cents: int, currency: str, idempotency_key: str) -> Intent:
    """See :meth:`StripeGateway.create_intent`."""
    return gateway().create_intent(order_id, amount_cents, currency, idempotency_key)


def retrieve_intent(intent_id: str) -> Intent:
    """See :meth:`StripeGateway.retrieve_intent`."""
    return gateway().retrieve_intent(intent_id)


def cancel_intent(intent_id: str) -> Intent:
    """See :meth:`StripeGateway.cancel_intent`."""
    return gateway().cancel_intent(intent_id)


def refund(intent_id: str, amount_cents: int | None, idempotency_key: str) -> Refund:
    """See :meth:`StripeGateway.refund`."""
    return gateway().refund(intent_id, amount_cents, idempotency_key)


def verify_webhook(payload: bytes, signature_header: str | None) -> WebhookEvent:
    """See :meth:`StripeGateway.verify_webhook`."""
    return gateway().verify_webhook(payload, signature_header)


def reset() -> None:
    """Forget the gateway, settings and cached secrets (tests and the local platform)."""
    payment_settings.reset()
    gateway.reset()
