"""shop.payments against a real localstripe process and the moto server's SSM (no mocks)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
import pytest

from shop import payments
from shop.declarations import STRIPE_WEBHOOK_TOLERANCE_SECONDS, Env
from shop.local.services import StripeHandle, configure_stripe, start_localstripe
from shop.payments.settings import PaymentsSettings
from tests.stripe_support import signed_event, start_receiver, stripe_signature

pytestmark = pytest.mark.usefixtures("stripe_env")

CARD_OK = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"


def _paid_intent(amount: int = 2500, card: str = CARD_OK) -> payments.Intent:
    """An intent paid with ``card``: the payment method set first (localstripe's confirm won't take one)."""
    order_id = f"ord-{uuid.uuid4()}"
    intent = payments.create_intent(order_id, amount, "eur", f"key-{order_id}")
    client = payments.gateway().client()
    method = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}}
    )
    client.v1.payment_intents.update(intent.id, params={"payment_method": method.id})
    with_error: Any = None
    try:
        client.v1.payment_intents.confirm(intent.id)
    except Exception as error:
        with_error = error
    result = payments.retrieve_intent(intent.id)
    assert with_error is None or result.status != "succeeded"
    return result


def test_create_intent_carries_order_amount_currency_and_a_client_secret() -> None:
    intent = payments.create_intent("ord-1", 1999, "EUR", "request-key-1")
    assert intent.id.startswith("pi_")
    assert (intent.order_id, intent.amount_cents, intent.currency) == ("ord-1", 1999, "eur")
    assert intent.status == "requires_payment_method"
    assert intent.client_secret and intent.client_secret.startswith(intent.id)
    again = payments.retrieve_intent(intent.id)
    assert (again.id, again.order_id, again.amount_cents) == (intent.id, "ord-1", 1999)


@pytest.mark.parametrize(("amount", "currency"), [(0, "eur"), (-5, "eur"), (100, "euro"), (100, "e1r")])
def test_create_intent_refuses_bad_amounts_and_currencies(amount: int, currency: str) -> None:
    with pytest.raises(ValueError):
        payments.create_intent("ord-x", amount, currency, "k")


def test_stripe_idempotency_key_is_deterministic_scoped_and_bounded() -> None:
    key = payments.stripe_idempotency_key("intent", "ord-1", "k")
    assert key == payments.stripe_idempotency_key("intent", "ord-1", "k")
    assert key != payments.stripe_idempotency_key("intent", "ord-2", "k")
    assert key != payments.stripe_idempotency_key("refund", "ord-1", "k")
    assert len(payments.stripe_idempotency_key("intent", "x" * 10_000)) <= 255
    with pytest.raises(ValueError):
        payments.stripe_idempotency_key("intent", "")


def test_unknown_intent_is_intent_not_found() -> None:
    with pytest.raises(payments.IntentNotFoundError):
        payments.retrieve_intent("pi_doesnotexist")
    with pytest.raises(payments.IntentNotFoundError):
        payments.cancel_intent("pi_doesnotexist")


def test_cancel_intent_and_cancel_again() -> None:
    intent = payments.create_intent("ord-c", 500, "eur", "k-c")
    assert payments.cancel_intent(intent.id).status == "canceled"
    assert payments.retrieve_intent(intent.id).status == "canceled"
    assert payments.cancel_intent(intent.id).status == "canceled"


def test_paid_intent_then_partial_and_full_refund() -> None:
    intent = _paid_intent(2500)
    assert intent.status == "succeeded"
    part = payments.refund(intent.id, 1000, "refund-1")
    assert (part.intent_id, part.amount_cents, part.currency) == (intent.id, 1000, "eur")
    assert part.status == "succeeded"
    rest = payments.refund(intent.id, 1500, "refund-2")
    assert rest.amount_cents == 1500
    # localstripe neither adds refunds up nor compares them with the charge (Stripe refuses a refund
    # beyond what is left): the order's refunded total must be kept, and checked, in our database.


def test_refund_of_an_unpaid_intent_is_rejected() -> None:
    intent = payments.create_intent("ord-unpaid", 800, "eur", "k-unpaid")
    with pytest.raises(payments.PaymentRejectedError) as rejected:
        payments.refund(intent.id, None, "refund-unpaid")
    assert rejected.value.http_status is not None and 400 <= rejected.value.http_status < 500


def test_full_refund_without_an_amount() -> None:
    intent = _paid_intent(900)
    full = payments.refund(intent.id, None, "refund-full")
    assert (full.amount_cents, full.status) == (900, "succeeded")


def test_declining_card_leaves_the_intent_unpaid() -> None:
    intent = _paid_intent(700, CARD_DECLINED_ON_CHARGE)
    assert intent.status != "succeeded"
    with pytest.raises(payments.PaymentRejectedError):
        payments.refund(intent.id, None, "refund-declined")


def test_refund_amount_must_be_positive() -> None:
    with pytest.raises(ValueError):
        payments.refund("pi_x", 0, "k")


# ------------------------------------------------------------------ webhooks
def _intent_object(intent_id: str = "pi_123", order_id: str = "ord-9") -> dict[str, Any]:
    return {"id": intent_id, "object": "payment_intent", "status": "canceled", "metadata": {"order_id": order_id}}


def test_verify_webhook_accepts_an_event_signed_as_stripe_signs(stripe_env: dict[str, str]) -> None:
    body, header = signed_event("payment_intent.canceled", _intent_object(), stripe_env["webhook_secret"])
    event = payments.verify_webhook(body, header)
    assert event.type == "payment_intent.canceled"
    assert event.id == json.loads(body)["id"]
    assert (event.intent_id, event.order_id) == ("pi_123", "ord-9")
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_456", "amount_refunded": 100}
    body, header = signed_event("charge.refunded", charge, stripe_env["webhook_secret"])
    assert payments.verify_webhook(body, header).intent_id == "pi_456"


def test_verify_webhook_rejects_forged_tampered_stale_and_missing_signatures(stripe_env: dict[str, str]) -> None:
    secret = stripe_env["webhook_secret"]
    body, _ = signed_event("payment_intent.succeeded", _intent_object(), secret)
    cases = {
        "forged": (body, stripe_signature(body, "whsec_someone_else")),
        "tampered": (body.replace(b"ord-9", b"ord-8"), stripe_signature(body, secret)),
        "stale": (body, stripe_signature(body, secret, int(time.time()) - STRIPE_WEBHOOK_TOLERANCE_SECONDS - 60)),
        "garbage header": (body, "nonsense"),
        "missing": (body, ""),
    }
    for name, (payload, header) in cases.items():
        with pytest.raises(payments.WebhookVerificationError) as error:
            payments.verify_webhook(payload, header)
        assert error.value.reason == ("stale" if name == "stale" else "signature"), name
        assert secret not in str(error.value)


def test_verify_webhook_rejects_a_signed_body_that_is_not_an_event(stripe_env: dict[str, str]) -> None:
    secret = stripe_env["webhook_secret"]
    for body in (b"not json", b'{"id": "evt_1"}', b"[]"):
        with pytest.raises(payments.WebhookVerificationError) as error:
            payments.verify_webhook(body, stripe_signature(body, secret))
        assert error.value.reason == "payload"


def test_localstripes_own_webhook_verifies(
    dynamodb: Any, localstripe: StripeHandle, stripe_env: dict[str, str]
) -> None:
    """What localstripe delivers after a payment passes verify_webhook (the route's first step)."""
    receiver = start_receiver()
    try:
        configure_stripe(
            dynamodb.endpoint_url,
            localstripe,
            receiver.url + "/api/webhooks/stripe",
            webhook_secret=stripe_env["webhook_secret"],
            suffix="test",
        )
        intent = _paid_intent(1234)
        deadline = time.monotonic() + 15
        while True:
            delivery = receiver.next(timeout=max(0.1, deadline - time.monotonic()))
            event = payments.verify_webhook(delivery.body, delivery.signature)
            if event.type == "payment_intent.succeeded" and event.intent_id == intent.id:
                break
        assert delivery.path == "/api/webhooks/stripe"
        assert event.order_id == intent.order_id
    finally:
        configure_stripe(
            dynamodb.endpoint_url,
            localstripe,
            stripe_env["webhook_url"],
            webhook_secret=stripe_env["webhook_secret"],
            suffix="test",
        )
        receiver.stop()


# ------------------------------------------------------------------ configuration
def test_secrets_are_read_from_ssm_at_call_time(dynamodb: Any, stripe_env: dict[str, str]) -> None:
    """A rotated webhook secret is used once the cache expires (here: no cache), without a restart."""
    ssm = boto3.client("ssm", endpoint_url=dynamodb.endpoint_url, region_name="us-east-1")
    name = stripe_env[Env.STRIPE_WEBHOOK_SECRET_PARAMETER]
    gateway = payments.StripeGateway(
        PaymentsSettings(
            secret_key_parameter=stripe_env[Env.STRIPE_SECRET_KEY_PARAMETER],
            webhook_secret_parameter=name,
            api_base=stripe_env[Env.STRIPE_API_BASE],
            cache_seconds=0,
        )
    )
    rotated = "whsec_rotated_" + "1" * 20
    body, header = signed_event("payment_intent.canceled", _intent_object(), rotated)
    with pytest.raises(payments.WebhookVerificationError):
        gateway.verify_webhook(body, header)
    try:
        ssm.put_parameter(Name=name, Value=rotated, Type="SecureString", Overwrite=True)
        assert gateway.verify_webhook(body, header).type == "payment_intent.canceled"
    finally:
        ssm.put_parameter(Name=name, Value=stripe_env["webhook_secret"], Type="SecureString", Overwrite=True)


def test_missing_configuration_and_missing_parameters_are_typed_errors(stripe_env: dict[str, str]) -> None:
    unset = payments.StripeGateway(PaymentsSettings(None, None, stripe_env[Env.STRIPE_API_BASE]))
    with pytest.raises(payments.PaymentsNotConfiguredError, match=str(Env.STRIPE_SECRET_KEY_PARAMETER)):
        unset.create_intent("o", 100, "eur", "k")
    with pytest.raises(payments.PaymentsNotConfiguredError, match=str(Env.STRIPE_WEBHOOK_SECRET_PARAMETER)):
        unset.verify_webhook(b"{}", "t=1,v1=00")
    absent = payments.StripeGateway(PaymentsSettings("no-such-parameter", "no-such-parameter", None, 0))
    with pytest.raises(payments.PaymentsUnavailableError, match="no-such-parameter"):
        absent.retrieve_intent("pi_1")


def test_unreachable_stripe_is_payments_unavailable(stripe_env: dict[str, str]) -> None:
    from shop.local.services import free_port

    gone = payments.StripeGateway(
        PaymentsSettings(
            stripe_env[Env.STRIPE_SECRET_KEY_PARAMETER],
            stripe_env[Env.STRIPE_WEBHOOK_SECRET_PARAMETER],
            f"http://127.0.0.1:{free_port()}",
        )
    )
    with pytest.raises(payments.PaymentsUnavailableError):
        gone.retrieve_intent("pi_1")


def test_malformed_api_base_names_the_variable() -> None:
    from shop.payments.settings import parse

    with pytest.raises(payments.PaymentsNotConfiguredError, match=str(Env.STRIPE_API_BASE)):
        parse({Env.STRIPE_API_BASE: "localhost:12"})
    assert parse({Env.STRIPE_API_BASE: "http://127.0.0.1:5/"}).api_base == "http://127.0.0.1:5"


def test_importing_payments_or_the_handler_does_not_import_stripe() -> None:
    code = "import sys, shop.payments, shop.api.handler; sys.exit('stripe' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ------------------------------------------------------------------ localstripe across restarts
def test_localstripe_state_file_survives_a_restart(tmp_path: Any, stripe_env: dict[str, str]) -> None:
    state = tmp_path / "localstripe.pickle"
    first = start_localstripe(state_file=state)
    try:
        first.wait_ready()
        gateway = payments.StripeGateway(
            PaymentsSettings(
                stripe_env[Env.STRIPE_SECRET_KEY_PARAMETER], stripe_env[Env.STRIPE_WEBHOOK_SECRET_PARAMETER], first.url
            )
        )
        intent = gateway.create_intent("ord-restart", 4200, "eur", "k")
    finally:
        first.stop()
    second = start_localstripe(port=first.port, state_file=state)
    try:
        second.wait_ready()
        again = payments.StripeGateway(gateway._settings).retrieve_intent(intent.id)
        assert (again.order_id, again.amount_cents) == ("ord-restart", 4200)
    finally:
        second.stop()
