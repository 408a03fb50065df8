"""The local platform's completion of localstripe's Stripe.js stand-in (shop.local.localstripe_server):
the browser confirms a PaymentIntent with the publishable key, the client secret and the card, as
Stripe.js does. Against a real localstripe process; the storefront's own use is in
tests/e2e/test_payments_browser.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from shop import payments
from shop.declarations import LOCALSTRIPE_JS_PATH
from shop.local.services import LOCAL_STRIPE_PUBLISHABLE_KEY, StripeHandle

pytestmark = pytest.mark.usefixtures("stripe_env")


def _intent() -> payments.Intent:
    order_id = f"ord-{uuid.uuid4()}"
    return payments.create_intent(order_id, 1500, "usd", f"key-{order_id}")


def _confirm(localstripe: StripeHandle, intent: payments.Intent, card: str, **overrides: Any) -> requests.Response:
    body = {
        "key": LOCAL_STRIPE_PUBLISHABLE_KEY,
        "client_secret": intent.client_secret,
        "payment_method_data": {
            "type": "card",
            "card": {"number": card, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
        },
        **overrides,
    }
    # As Stripe.js's stand-in sends it: a JSON text body, no Authorization header.
    return requests.post(f"{localstripe.url}/v1/payment_intents/{intent.id}/confirm", data=json.dumps(body), timeout=10)


def test_the_stand_in_is_served_with_the_browser_confirm(localstripe: StripeHandle) -> None:
    script = requests.get(f"{localstripe.url}{LOCALSTRIPE_JS_PATH}", timeout=5)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "LOCALSTRIPE_BASE_API" in script.text  # localstripe's own stand-in ...
    assert "payment_method_data" in script.text  # ... with the confirm appended


def test_the_test_card_pays_and_only_once(localstripe: StripeHandle) -> None:
    intent = _intent()
    paid = _confirm(localstripe, intent, "4242424242424242")
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded"
    assert payments.retrieve_intent(intent.id).status == "succeeded"
    again = _confirm(localstripe, intent, "4242424242424242")
    assert again.status_code == 400 and again.json()["error"]["code"] == "payment_intent_unexpected_state"


@pytest.mark.parametrize("card", ["4000000000000341", "4000000000000002"])
def test_a_declined_card_is_a_402_and_another_card_pays_the_same_intent(localstripe: StripeHandle, card: str) -> None:
    intent = _intent()
    declined = _confirm(localstripe, intent, card)
    assert declined.status_code == 402 and declined.json()["error"]["code"] == "card_declined"
    assert payments.retrieve_intent(intent.id).status == "requires_payment_method"
    retried = _confirm(localstripe, intent, "4242424242424242")
    assert retried.status_code == 200 and retried.json()["status"] == "succeeded"


def test_a_3d_secure_card_waits_for_the_challenge(localstripe: StripeHandle) -> None:
    intent = _intent()
    reply = _confirm(localstripe, intent, "4000002500003155")
    assert reply.status_code == 200 and reply.json()["status"] == "requires_action"


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_secret": "pi_other_secret_wrong"},
        {"key": "sk_test_local"},  # the browser never has the secret key; it is not accepted in a body
        {"key": None},
    ],
)
def test_without_the_publishable_key_and_the_intents_secret_nothing_is_charged(
    localstripe: StripeHandle, overrides: dict[str, Any]
) -> None:
    intent = _intent()
    reply = _confirm(localstripe, intent, "4242424242424242", **overrides)
    assert reply.status_code == 401
    assert payments.retrieve_intent(intent.id).status == "requires_payment_method"


def test_malformed_cards_are_refused(localstripe: StripeHandle) -> None:
    intent = _intent()
    assert _confirm(localstripe, intent, "4242").status_code == 400
    not_a_card = {"payment_method_data": {"type": "sepa_debit"}}
    assert _confirm(localstripe, intent, "4242424242424242", **not_a_card).status_code == 400
    assert payments.retrieve_intent(intent.id).status == "requires_payment_method"
