"""API Gateway's back-office REQUEST authorizer (shop.auth.authorizer) with real tokens from the moto
server's Cognito and the back-office key's value in the moto server's SSM, and the function's
own check of what the authorizer admitted (a token-only caller never gets partner powers)."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shop.auth import authorizer
from shop.declarations import (
    ADMIN_GROUP,
    ADMITTED_BY_API_KEY,
    ADMITTED_BY_TOKEN,
    ROUTES,
    STAFF_GROUP,
    Env,
    is_back_office,
)
from shop.local.services import LOCAL_REGION, UserPoolHandle
from tests.app.conftest import Reply, invoke
from tests.app.events import rest_event
from tests.app.test_back_office_auth import NEW
from tests.app.test_customers import accounts, bad_tokens, bearer, claims, sign_in, sign_up, user_pool  # noqa: F401

ADMIN_ROUTE = next(r for r in ROUTES if r.operation == "create_product")
STAFF_ROUTE = next(r for r in ROUTES if r.operation == "fulfil_order")
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/{method}{path}"


@pytest.fixture
def back_office_key(accounts: UserPoolHandle) -> Iterator[str]:  # noqa: F811
    """The back-office key's value in a SecureString of the moto server's SSM, named in the environment."""
    from shop import config

    value = secrets.token_urlsafe(30)
    name = f"/test/back-office-key-{uuid.uuid4().hex[:8]}"
    ssm = boto3.client(
        "ssm",
        endpoint_url=accounts.endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    env = {str(Env.BACK_OFFICE_API_KEY_PARAMETER): name, "AWS_ENDPOINT_URL_SSM": accounts.endpoint_url}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    config.settings.reset()
    yield value
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
    config.settings.reset()


def request(route: Any, headers: dict[str, str]) -> dict[str, Any]:
    """A REQUEST authorizer event as API Gateway sends it for ``route`` (resource with placeholders)."""
    path = route.path.replace("{product_id}", str(uuid.uuid4())).replace("{order_id}", str(uuid.uuid4()))
    return {
        "type": "REQUEST",
        "methodArn": ARN.format(method=route.method, path=path),
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "requestContext": {"resourcePath": route.path, "httpMethod": route.method, "stage": "v1"},
    }


def effect(answer: dict[str, Any]) -> str:
    statements = answer["policyDocument"]["Statement"]
    assert len(statements) == 1
    return str(statements[0]["Effect"])


def test_a_partner_key_is_allowed_with_that_key_for_api_gateway_to_validate(back_office_key: str) -> None:
    for route in (ADMIN_ROUTE, STAFF_ROUTE):
        event = request(route, {"x-api-key": "partner-key-value-1234567890"})
        answer = authorizer.handler(event)
        assert effect(answer) == "Allow"
        assert answer["usageIdentifierKey"] == "partner-key-value-1234567890"
        assert answer["context"]["admittedBy"] == ADMITTED_BY_API_KEY
        assert answer["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]


@pytest.mark.parametrize("route", [ADMIN_ROUTE, STAFF_ROUTE], ids=["admin_route", "staff_route"])
def test_an_admin_token_is_allowed_on_the_back_office_key(
    back_office_key: str,
    accounts: UserPoolHandle,  # noqa: F811
    route: Any,
) -> None:
    token = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    answer = authorizer.handler(request(route, bearer(token)))
    assert effect(answer) == "Allow"
    assert answer["usageIdentifierKey"] == back_office_key
    assert answer["principalId"] == claims(token)["sub"]
    assert answer["context"] == {
        "admittedBy": ADMITTED_BY_TOKEN,
        "sub": claims(token)["sub"],
        "groups": ADMIN_GROUP,
    }


def test_a_staff_token_is_allowed_on_staff_routes_and_denied_on_admin_ones(
    back_office_key: str,
    accounts: UserPoolHandle,  # noqa: F811
) -> None:
    token = sign_up(accounts, groups=(STAFF_GROUP,))
    assert effect(authorizer.handler(request(STAFF_ROUTE, {"X-Id-Token": token}))) == "Allow"
    denied = authorizer.handler(request(ADMIN_ROUTE, bearer(token)))
    assert effect(denied) == "Deny"
    assert "usageIdentifierKey" not in denied


def test_every_back_office_route_is_known_to_the_authorizer(
    back_office_key: str,
    accounts: UserPoolHandle,  # noqa: F811
) -> None:
    staff = sign_up(accounts, groups=(STAFF_GROUP,))
    for route in (r for r in ROUTES if is_back_office(r)):
        expected = "Allow" if route.access == "staff" else "Deny"
        assert effect(authorizer.handler(request(route, bearer(staff)))) == expected, route.operation


def test_a_route_the_authorizer_does_not_guard_is_denied(back_office_key: str) -> None:
    public = next(r for r in ROUTES if r.access == "public")
    assert effect(authorizer.handler(request(public, {"x-api-key": "partner-key-value-1234567890"}))) == "Deny"


def test_a_customer_token_is_denied(back_office_key: str, accounts: UserPoolHandle) -> None:  # noqa: F811
    token = sign_up(accounts)
    assert effect(authorizer.handler(request(STAFF_ROUTE, bearer(token)))) == "Deny"


@pytest.mark.parametrize("kind", ["expired", "tampered", "alg_none", "hs256", "wrong_pool", "access_token", "garbage"])
def test_a_forged_or_expired_token_is_unauthorized(
    back_office_key: str,
    accounts: UserPoolHandle,  # noqa: F811
    forged_tokens: dict[str, str],
    kind: str,
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(STAFF_ROUTE, bearer(forged_tokens[kind])))


@pytest.fixture(scope="module")
def forged_tokens(user_pool: UserPoolHandle) -> dict[str, str]:  # noqa: F811
    return bad_tokens(user_pool)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Id-Token": ""}, {"X-Id-Token": "Bearer "}, {"x-api-key": ""}],
    ids=["nothing", "empty_token", "empty_bearer", "empty_key"],
)
def test_no_credential_is_unauthorized(back_office_key: str, headers: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(ADMIN_ROUTE, headers))


def test_two_tokens_are_unauthorized(back_office_key: str, accounts: UserPoolHandle) -> None:  # noqa: F811
    token = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    event = request(ADMIN_ROUTE, bearer(token))
    event["multiValueHeaders"]["X-Id-Token"] = [token, token]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event)


def test_the_back_office_key_presented_as_x_api_key_is_not_a_partner_key(
    back_office_key: str,
    accounts: UserPoolHandle,  # noqa: F811
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(ADMIN_ROUTE, {"x-api-key": back_office_key}))
    staff = sign_up(accounts, groups=(STAFF_GROUP,))
    denied = authorizer.handler(request(ADMIN_ROUTE, {"x-api-key": back_office_key, **bearer(staff)}))
    assert effect(denied) == "Deny"


# --------------------------------------------------------------------------- the function's own check


@pytest.fixture
def back_office_key_id() -> Iterator[str]:
    from shop import config

    key_id = "b4ck0ff1c3"
    saved = os.environ.get(Env.BACK_OFFICE_API_KEY_ID)
    os.environ[Env.BACK_OFFICE_API_KEY_ID] = key_id
    config.settings.reset()
    yield key_id
    if saved is None:
        os.environ.pop(Env.BACK_OFFICE_API_KEY_ID, None)
    else:
        os.environ[Env.BACK_OFFICE_API_KEY_ID] = saved
    config.settings.reset()


def _admitted(key_id: str, admitted_by: str, headers: dict[str, str], sku: str) -> Reply:
    """A REST call as API Gateway forwards it after the authorizer admitted it: key id and context set."""
    event = rest_event("POST", "/api/admin/products", body={**NEW, "sku": sku}, headers=headers)
    event["requestContext"]["identity"]["apiKeyId"] = key_id
    event["requestContext"]["authorizer"] = {"admittedBy": admitted_by, "principalId": "x"}
    return invoke(event)


def test_the_function_grants_partner_powers_only_to_a_partner_key(
    shop: dict[str, Any],
    accounts: UserPoolHandle,  # noqa: F811
    back_office_key_id: str,
) -> None:
    # A partner key the authorizer admitted by key: no token needed.
    assert _admitted("p4rtn3r", ADMITTED_BY_API_KEY, {}, "AUTHZ-1").status == 201
    # Metered on the back-office key: that is a token caller, and without a token it is 401 ...
    assert _admitted(back_office_key_id, ADMITTED_BY_API_KEY, {}, "AUTHZ-2").status == 401
    assert _admitted(back_office_key_id, ADMITTED_BY_TOKEN, {}, "AUTHZ-3").status == 401
    # ... and a key admitted through the token path is no partner key either.
    assert _admitted("p4rtn3r", ADMITTED_BY_TOKEN, {}, "AUTHZ-4").status == 401
    staff = sign_up(accounts, groups=(STAFF_GROUP,))
    assert _admitted(back_office_key_id, ADMITTED_BY_TOKEN, bearer(staff), "AUTHZ-5").status == 403
    admin = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    assert _admitted(back_office_key_id, ADMITTED_BY_TOKEN, bearer(admin), "AUTHZ-6").status == 201
