"""GET /api/storefront-config: the browser's public settings (Stripe.js, Cognito), on both entry points."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from shop import config
from shop.declarations import LOCALSTRIPE_JS_PATH, STOREFRONT_CONFIG_MAX_AGE_SECONDS, STRIPE_JS_URL, Env
from shop.local.services import LOCAL_STRIPE_PUBLISHABLE_KEY, DynamoHandle, UserPoolHandle, ensure_user_pool
from tests.app.conftest import Call

PATH = "/api/storefront-config"


@pytest.fixture(scope="module")
def user_pool(dynamodb: DynamoHandle, tmp_path_factory: pytest.TempPathFactory) -> UserPoolHandle:
    return ensure_user_pool(dynamodb.endpoint_url, tmp_path_factory.mktemp("cognito-config"), suffix="cfg")


def _set(values: dict[str, str | None]) -> dict[str, str | None]:
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    config.settings.reset()
    return saved


@pytest.fixture
def env() -> Iterator[dict[str, str | None]]:
    saved: dict[str, str | None] = {}

    class Setter(dict[str, str | None]):
        def __setitem__(self, key: str, value: str | None) -> None:
            saved.setdefault(key, os.environ.get(key))
            _set({key: value})

    yield Setter()
    _set(saved)


def test_without_a_user_pool_cognito_is_null_and_stripe_is_localstripe(
    api: Call, env: dict[str, str | None], stripe_env: dict[str, str]
) -> None:
    for name in (Env.COGNITO_USER_POOL_ID, Env.COGNITO_CLIENT_ID, Env.COGNITO_ISSUER):
        env[name] = None
    reply = api("GET", PATH)
    assert reply.status == 200, reply.body
    assert reply.body == {
        "stripe": {
            "publishable_key": LOCAL_STRIPE_PUBLISHABLE_KEY,
            "js_url": f"{stripe_env[Env.STRIPE_API_BASE]}{LOCALSTRIPE_JS_PATH}",
        },
        "cognito": {"region": None, "client_id": None, "endpoint": None},
    }
    assert reply.headers["cache-control"] == f"public, max-age={STOREFRONT_CONFIG_MAX_AGE_SECONDS}"


def test_localstripe_serves_stripe_js_at_the_advertised_url(api: Call) -> None:
    js_url = api("GET", PATH).body["stripe"]["js_url"]
    script = requests.get(js_url, timeout=5)
    assert script.status_code == 200
    assert "confirmCardPayment" in script.text and "elements" in script.text


def test_with_the_local_pool_the_browser_gets_moto_as_its_endpoint(
    api: Call, env: dict[str, str | None], user_pool: UserPoolHandle
) -> None:
    for name, value in user_pool.environment().items():
        env[name] = value
    body = api("GET", PATH).body
    assert body["cognito"] == {
        "region": user_pool.user_pool_id.split("_")[0],
        "client_id": user_pool.client_id,
        "endpoint": user_pool.endpoint_url.rstrip("/") + "/",
    }
    # The browser signs in at that endpoint with that client id (USER_PASSWORD_AUTH, no secret).
    reply = requests.post(
        body["cognito"]["endpoint"],
        json={
            "ClientId": body["cognito"]["client_id"],
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "nobody@shop.test", "PASSWORD": "x" * 12},
        },
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        timeout=5,
    )
    assert reply.status_code == 400
    assert any(kind in reply.text for kind in ("UserNotFound", "NotAuthorized")), reply.text


def test_in_aws_the_endpoint_is_the_regions_and_stripe_js_is_stripes(
    api: Call, env: dict[str, str | None], user_pool: UserPoolHandle
) -> None:
    for name, value in user_pool.environment().items():
        env[name] = value
    env["AWS_ENDPOINT_URL_COGNITO_IDP"] = None
    env[Env.STRIPE_JS_URL] = None
    env[Env.STRIPE_PUBLISHABLE_KEY] = "pk_live_abcdef123456"
    body = api("GET", PATH).body
    region = user_pool.user_pool_id.split("_")[0]
    assert body["cognito"]["endpoint"] == f"https://cognito-idp.{region}.amazonaws.com/"
    assert body["stripe"] == {"publishable_key": "pk_live_abcdef123456", "js_url": STRIPE_JS_URL}


def test_without_a_publishable_key_stripe_is_null(api: Call, env: dict[str, str | None]) -> None:
    env[Env.STRIPE_PUBLISHABLE_KEY] = None
    assert api("GET", PATH).body["stripe"]["publishable_key"] is None


@pytest.mark.parametrize("value", ["sk_test_secretkey", "pk_demo_x", "pk_test_with space", "whsec_abc"])
def test_a_malformed_publishable_key_fails_naming_the_variable_without_echoing_it(value: str) -> None:
    with pytest.raises(config.ConfigError, match=str(Env.STRIPE_PUBLISHABLE_KEY)) as raised:
        config.parse({Env.STRIPE_PUBLISHABLE_KEY: value})
    assert value not in str(raised.value)


def test_only_a_public_get_may_be_cached() -> None:
    from shop.declarations import Route

    with pytest.raises(ValueError, match="only a public"):
        Route("GET", "/api/x", "x", personal=True, max_age=60)
    with pytest.raises(ValueError, match="only a public"):
        Route("POST", "/api/x", "x", max_age=60)


def test_other_routes_carry_no_public_cache_header(api: Call) -> None:
    reply = api("GET", "/api/shipping-rates")
    assert "public" not in reply.headers.get("cache-control", "")
    assert api("GET", "/api/orders/00000000-0000-0000-0000-000000000000").headers["cache-control"] == "no-store"
