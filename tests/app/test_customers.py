"""Customer accounts through the real handler, both entry points, with real tokens from the moto
server's Cognito (the same server the tables live on) checked against the keys it publishes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shop.declarations import ID_TOKEN_HEADER, error_body
from shop.local.services import DynamoHandle, UserPoolHandle, cognito_client, ensure_user_pool
from tests.app.conftest import Call
from tests.app.events import ADDRESS

UNAUTHORIZED = error_body("unauthorized", "sign-in required")
PASSWORD = "Correct-horse-9-battery"


@pytest.fixture(scope="session")
def user_pool(dynamodb: DynamoHandle, tmp_path_factory: pytest.TempPathFactory) -> UserPoolHandle:
    return ensure_user_pool(dynamodb.endpoint_url, tmp_path_factory.mktemp("cognito"), suffix="test")


@pytest.fixture
def accounts(app_env: dict[str, str], user_pool: UserPoolHandle) -> Iterator[UserPoolHandle]:
    """The API configured with the moto pool, as make dev does."""
    from shop import config

    env = user_pool.environment()
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    config.settings.reset()
    yield user_pool
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    config.settings.reset()


def sign_up(pool: UserPoolHandle, groups: tuple[str, ...] = ()) -> str:
    """A new customer through the storefront's calls (sign-up, confirmation, sign-in): their ID token."""
    client = cognito_client(pool.endpoint_url)
    email = f"customer-{uuid.uuid4().hex[:10]}@shop.test"
    client.sign_up(ClientId=pool.client_id, Username=email, Password=PASSWORD)
    # moto takes any code; like Cognito, confirming verifies the address (shop.local.services).
    client.confirm_sign_up(ClientId=pool.client_id, Username=email, ConfirmationCode="123456")
    for group in groups:
        client.admin_add_user_to_group(UserPoolId=pool.user_pool_id, Username=email, GroupName=group)
    return sign_in(pool, email)


def sign_in(pool: UserPoolHandle, email: str, password: str = PASSWORD, client_id: str | None = None) -> str:
    client = cognito_client(pool.endpoint_url)
    result = client.initiate_auth(
        ClientId=client_id or pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def bearer(token: str) -> dict[str, str]:
    return {ID_TOKEN_HEADER: f"Bearer {token}"}


# --------------------------------------------------------------------------- /api/me


def test_me_is_the_verified_identity(api: Call, accounts: UserPoolHandle) -> None:
    token = sign_up(accounts)
    reply = api("GET", "/api/me", headers=bearer(token))
    assert reply.status == 200, reply.body
    assert reply.body == {
        "sub": claims(token)["sub"],
        "email": claims(token)["email"],
        "email_verified": True,
        "groups": [],
    }


def test_the_bare_token_is_accepted_as_api_gateways_authorizer_reads_it(api: Call, accounts: UserPoolHandle) -> None:
    token = sign_up(accounts)
    assert api("GET", "/api/me", headers={ID_TOKEN_HEADER: token}).status == 200
    # A token in Authorization is not looked at (on dev/staging that header is the edge's Basic credential).
    assert api("GET", "/api/me", headers={"Authorization": f"Bearer {token}"}).status == 401


def test_the_seeded_admin_signs_in_with_the_printed_password(api: Call, accounts: UserPoolHandle) -> None:
    token = sign_in(accounts, accounts.admin_email, accounts.admin_password)
    reply = api("GET", "/api/me", headers=bearer(token))
    assert reply.status == 200
    assert reply.body["groups"] == ["admin"] and reply.body["email"] == accounts.admin_email


@pytest.mark.parametrize("path", ["/api/me", "/api/me/orders"])
def test_no_token_is_401_with_the_platform_error_body(api: Call, accounts: UserPoolHandle, path: str) -> None:
    reply = api("GET", path)
    assert reply.status == 401
    assert reply.body == UNAUTHORIZED
    assert api("GET", path, headers={ID_TOKEN_HEADER: "Bearer "}).status == 401


# --------------------------------------------------------------------------- bad tokens


def _moto_private_key() -> Any:
    """The key moto signs every pool's tokens with (it ships in moto; a forger could use it too)."""
    from joserfc.jwk import RSAKey
    from moto.utilities.utils import load_resource

    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def _signed(payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    from joserfc import jwt

    return jwt.encode(header or {"alg": "RS256", "kid": "dummy"}, payload, _moto_private_key())


def bad_tokens(pool: UserPoolHandle) -> dict[str, str]:
    good = sign_up(pool)
    body = claims(good)
    head, payload, signature = good.split(".")
    client = cognito_client(pool.endpoint_url)

    other_pool = ensure_user_pool(pool.endpoint_url, None, suffix=f"other-{uuid.uuid4().hex[:6]}")
    other_pool_token = sign_in(other_pool, other_pool.admin_email, other_pool.admin_password)

    other_client = client.create_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    other_client_token = sign_in(pool, body["email"], client_id=other_client)

    access = client.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": body["email"], "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]

    tampered_claims = {**body, "sub": str(uuid.uuid4())}
    tampered = f"{head}.{b64(json.dumps(tampered_claims).encode())}.{signature}"
    expired = _signed({**body, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600})
    unsigned = f"{b64(json.dumps({'alg': 'none', 'kid': 'dummy'}).encode())}.{payload}."
    # HS256 keyed with the public key's modulus: the classic algorithm-confusion forgery.
    jwks = json.loads(json.dumps(_moto_private_key().as_dict(private=False)))
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'dummy'}).encode())}.{payload}"
    mac = hmac.new(jwks["n"].encode(), signing_input.encode(), hashlib.sha256).digest()
    hs256 = f"{signing_input}.{b64(mac)}"
    unknown_kid = _signed(body, {"alg": "RS256", "kid": "not-a-key"})
    return {
        "expired": expired,
        "tampered": tampered,
        "wrong_pool": other_pool_token,
        "wrong_client": other_client_token,
        "alg_none": unsigned,
        "hs256": hs256,
        "access_token": access,
        "unknown_kid": unknown_kid,
        "garbage": "not.a.token",
        "huge": "a" * 10_000,
    }


@pytest.fixture(scope="module")
def forged(user_pool: UserPoolHandle) -> dict[str, str]:
    return bad_tokens(user_pool)


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "tampered",
        "wrong_pool",
        "wrong_client",
        "alg_none",
        "hs256",
        "access_token",
        "unknown_kid",
        "garbage",
        "huge",
    ],
)
def test_every_bad_token_is_the_same_bare_401(
    api: Call, accounts: UserPoolHandle, forged: dict[str, str], kind: str
) -> None:
    for path in ("/api/me", "/api/me/orders"):
        reply = api("GET", path, headers=bearer(forged[kind]))
        assert reply.status == 401, (kind, reply.body)
        # Nothing says which check failed.
        assert reply.body == UNAUTHORIZED, kind


def test_the_api_never_logs_a_token(
    api: Call, accounts: UserPoolHandle, forged: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    good = sign_up(accounts)
    with caplog.at_level(logging.DEBUG, logger="ecommerce-api"):
        assert api("GET", "/api/me", headers=bearer(good)).status == 200
        for token in forged.values():
            api("GET", "/api/me", headers=bearer(token))
    records = caplog.records
    # The rejection logs ran, with their reasons, and no part of any token is in any record.
    reasons = [getattr(r, "reason", None) for r in records if r.getMessage() == "token rejected"]
    assert len(reasons) == len(forged) and {"signature", "algorithm", "expired", "audience", "issuer"} <= set(reasons)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in records)
    for token in [good, *forged.values()]:
        for part in token.split("."):
            if len(part) > 16:
                assert part[:40] not in logged


# --------------------------------------------------------------------------- /api/me/orders


def _insert_order(db: psycopg.Connection[Any], sub: str | None, created_at: datetime, product_id: str) -> str:
    order_id, cart_id = str(uuid.uuid4()), str(uuid.uuid4())  # one order per cart (0002)
    db.execute(
        "INSERT INTO orders (id, token_hash, email, cart_id, total_cents, created_at, customer_sub)"
        " VALUES (%s, %s, %s, %s, 1000, %s, %s)",
        (order_id, hashlib.sha256(secrets.token_bytes(8)).hexdigest(), "x@shop.test", cart_id, created_at, sub),
    )
    db.execute(
        "INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_cents, line_total_cents)"
        " VALUES (%s, 1, %s, 'Thing', 2, 500, 1000)",
        (order_id, product_id),
    )
    return order_id


def test_my_orders_newest_first_paginated_and_never_another_customers(
    api: Call, accounts: UserPoolHandle, db: psycopg.Connection[Any], shop: dict[str, dict[str, Any]]
) -> None:
    product = next(iter(shop.values()))["id"]
    mine_token, theirs_token = sign_up(accounts), sign_up(accounts)
    mine, theirs = claims(mine_token)["sub"], claims(theirs_token)["sub"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Two of mine share a timestamp: the id breaks the tie, so paging neither repeats nor skips.
    times = [start, start + timedelta(days=1), start + timedelta(days=1), start + timedelta(days=3)]
    my_orders = [_insert_order(db, mine, moment, product) for moment in times]
    their_order = _insert_order(db, theirs, start + timedelta(days=2), product)
    guest_order = _insert_order(db, None, start + timedelta(days=2), product)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(5):
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        reply = api("GET", "/api/me/orders", headers=bearer(mine_token), query=query)
        assert reply.status == 200, reply.body
        seen += reply.body["items"]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    ids = [order["order_id"] for order in seen]
    assert sorted(ids) == sorted(my_orders) and len(ids) == len(set(ids))
    stamps = [order["created_at"] for order in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert seen[0]["order_id"] == my_orders[-1]
    assert seen[0]["items"][0]["quantity"] == 2 and seen[0]["total_cents"] == 1000
    assert their_order not in ids and guest_order not in ids

    theirs_reply = api("GET", "/api/me/orders", headers=bearer(theirs_token))
    assert [o["order_id"] for o in theirs_reply.body["items"]] == [their_order]


def test_a_customer_without_orders_gets_an_empty_page(api: Call, accounts: UserPoolHandle) -> None:
    reply = api("GET", "/api/me/orders", headers=bearer(sign_up(accounts)))
    assert reply.status == 200 and reply.body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "cursor", ["%%%", b64(b"[1,2]"), b64(b'["2026-01-01T00:00:00", "00000000-0000-4000-8000-000000000000"]')]
)
def test_a_bad_cursor_is_422(api: Call, accounts: UserPoolHandle, cursor: str) -> None:
    reply = api("GET", "/api/me/orders", headers=bearer(sign_up(accounts)), query={"cursor": cursor})
    assert reply.status == 422 and reply.error_code == "validation_error"


# --------------------------------------------------------------------------- checkout while signed in


def _cart_with(api: Call, product_id: str, quantity: int = 1) -> str:
    cart = str(api("POST", "/api/carts").body["cart_id"])
    assert api("PUT", f"/api/carts/{cart}/items/{product_id}", body={"quantity": quantity}).status == 200
    return cart


def _order_row(db: psycopg.Connection[Any], order_id: str) -> tuple[Any, ...]:
    row = db.execute("SELECT email, customer_sub FROM orders WHERE id = %s", (order_id,)).fetchone()
    assert row is not None
    return tuple(row)


def test_checkout_signed_in_is_the_customers_order_with_the_tokens_email(
    api: Call, accounts: UserPoolHandle, db: psycopg.Connection[Any], shop: dict[str, dict[str, Any]]
) -> None:
    token = sign_up(accounts)
    me = claims(token)
    cart = _cart_with(api, shop["MUG-001"]["id"], 2)
    # The body's e-mail is ignored when signed in: the order's mail goes to the verified address.
    body = {"cart_id": cart, "email": "someone.else@example.com", "shipping_address": ADDRESS}
    reply = api("POST", "/api/checkout", body=body, headers=bearer(token))
    assert reply.status == 201, reply.body
    order_id = reply.body["order_id"]
    assert reply.body["email"] == me["email"]
    assert _order_row(db, order_id) == (me["email"], me["sub"])

    # The e-mail may be left out altogether when signed in.
    other_cart = _cart_with(api, shop["MUG-001"]["id"])
    no_email = api(
        "POST", "/api/checkout", body={"cart_id": other_cart, "shipping_address": ADDRESS}, headers=bearer(token)
    )
    assert no_email.status == 201, no_email.body
    assert _order_row(db, no_email.body["order_id"]) == (me["email"], me["sub"])

    listed = api("GET", "/api/me/orders", headers=bearer(token)).body["items"]
    assert [o["order_id"] for o in listed] == [no_email.body["order_id"], order_id]


def test_a_guest_must_give_an_email_and_their_order_has_no_customer(
    api: Call, accounts: UserPoolHandle, db: psycopg.Connection[Any], shop: dict[str, dict[str, Any]]
) -> None:
    cart = _cart_with(api, shop["MUG-001"]["id"])
    missing = api("POST", "/api/checkout", body={"cart_id": cart, "shipping_address": ADDRESS})
    assert missing.status == 422 and missing.error_code == "validation_error"
    assert missing.body["error"]["details"]["errors"][0]["loc"] == ["body", "email"]
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    body = {"cart_id": cart, "email": "guest@example.com", "shipping_address": ADDRESS}
    placed = api("POST", "/api/checkout", body=body)
    assert placed.status == 201
    assert _order_row(db, placed.body["order_id"]) == ("guest@example.com", None)


@pytest.mark.parametrize("kind", ["expired", "tampered", "wrong_client", "alg_none"])
def test_checkout_with_a_bad_token_is_401_and_writes_nothing(
    api: Call,
    accounts: UserPoolHandle,
    forged: dict[str, str],
    db: psycopg.Connection[Any],
    shop: dict[str, dict[str, Any]],
    kind: str,
) -> None:
    mug = shop["MUG-001"]
    cart = _cart_with(api, mug["id"])
    body = {"cart_id": cart, "email": "guest@example.com", "shipping_address": ADDRESS}
    # Not quietly a guest checkout: the caller meant to be signed in.
    reply = api("POST", "/api/checkout", body=body, headers=bearer(forged[kind]))
    assert reply.status == 401 and reply.body == UNAUTHORIZED
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    stock = db.execute("SELECT stock FROM products WHERE id = %s", (mug["id"],)).fetchone()[0]
    assert stock == mug["stock"]


def test_checkout_needs_a_verified_address(
    api: Call, accounts: UserPoolHandle, db: psycopg.Connection[Any], shop: dict[str, dict[str, Any]]
) -> None:
    token = sign_up(accounts)
    client = cognito_client(accounts.endpoint_url)
    email = claims(token)["email"]
    client.admin_update_user_attributes(
        UserPoolId=accounts.user_pool_id, Username=email, UserAttributes=[{"Name": "email_verified", "Value": "false"}]
    )
    unverified = sign_in(accounts, email)
    cart = _cart_with(api, shop["MUG-001"]["id"])
    body = {"cart_id": cart, "email": "guest@example.com", "shipping_address": ADDRESS}
    reply = api("POST", "/api/checkout", body=body, headers=bearer(unverified))
    assert reply.status == 403 and reply.error_code == "email_not_verified"
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_confirming_a_sign_up_verifies_the_address_as_cognito_does(accounts: UserPoolHandle) -> None:
    assert claims(sign_up(accounts))["email_verified"] in (True, "true")


def test_a_retried_checkout_returns_the_order_to_its_customer_only(
    api: Call, accounts: UserPoolHandle, db: psycopg.Connection[Any], shop: dict[str, dict[str, Any]]
) -> None:
    mine, theirs = sign_up(accounts), sign_up(accounts)
    cart = _cart_with(api, shop["MUG-001"]["id"])
    body = {"cart_id": cart, "shipping_address": ADDRESS}
    first = api("POST", "/api/checkout", body=body, headers=bearer(mine))
    assert first.status == 201
    again = api("POST", "/api/checkout", body=body, headers=bearer(mine))
    assert again.status == 201 and again.body["order_id"] == first.body["order_id"]
    assert again.body["order_token"] == first.body["order_token"]
    # Someone else holding the cart id gets neither the order nor its token, signed in or as a guest
    # giving the customer's address.
    other = api("POST", "/api/checkout", body=body, headers=bearer(theirs))
    assert other.status == 409 and "order_token" not in json.dumps(other.body)
    guest = api("POST", "/api/checkout", body={**body, "email": claims(mine)["email"]})
    assert guest.status == 409 and "order_token" not in json.dumps(guest.body)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1


def test_a_customer_reads_and_cancels_their_order_without_its_token_and_never_anothers(
    api: Call, accounts: UserPoolHandle, shop: dict[str, dict[str, Any]]
) -> None:
    mine, theirs = sign_up(accounts), sign_up(accounts)
    cart = _cart_with(api, shop["MUG-001"]["id"])
    placed = api("POST", "/api/checkout", body={"cart_id": cart, "shipping_address": ADDRESS}, headers=bearer(mine))
    order_id = placed.body["order_id"]
    path = f"/api/orders/{order_id}"

    read = api("GET", path, headers=bearer(mine))
    assert read.status == 200 and read.body["order_id"] == order_id and read.body["email"] == claims(mine)["email"]
    # Another customer, with or without a made-up order token, and nobody at all: the same 404.
    for headers in (bearer(theirs), {**bearer(theirs), "X-Order-Token": "x" * 43}, {}):
        denied = api("GET", path, headers=headers)
        assert denied.status == 404 and denied.error_code == "not_found", headers
        assert api("POST", f"{path}/cancel", headers=headers).status == 404
    # The order token still opens it, whoever is signed in (it is the guest's capability).
    token_read = api("GET", path, headers={**bearer(theirs), "X-Order-Token": placed.body["order_token"]})
    assert token_read.status == 200

    # A guest order is not the customer's just because they are signed in.
    guest_cart = _cart_with(api, shop["MUG-001"]["id"])
    guest_order = api(
        "POST", "/api/checkout", body={"cart_id": guest_cart, "email": "g@example.com", "shipping_address": ADDRESS}
    ).body["order_id"]
    assert api("GET", f"/api/orders/{guest_order}", headers=bearer(mine)).status == 404

    cancelled = api("POST", f"{path}/cancel", headers=bearer(mine))
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
