"""The verifier's key set (lazy fetch, cache, rate-limited refresh) and its configuration, against
the moto server's published JWKS; and the local pool's admin credentials file."""

from __future__ import annotations

import json
import stat
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.auth.verifier import (
    MIN_REFRESH_SECONDS,
    KeySet,
    KeysUnavailableError,
    TokenRejectedError,
    http_get_json,
    jwks_url,
)
from shop.config import ConfigError, parse
from shop.declarations import Env
from shop.local.services import ADMIN_CREDENTIALS_FILE, DynamoHandle, ensure_user_pool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def moto_jwks_url(dynamodb: DynamoHandle, tmp_path_factory: pytest.TempPathFactory) -> str:
    pool = ensure_user_pool(dynamodb.endpoint_url, tmp_path_factory.mktemp("keys"), suffix="keys")
    return jwks_url(pool.issuer, pool.endpoint_url)


def counting(url_fetch: Any) -> tuple[list[str], Any]:
    calls: list[str] = []

    def fetch(url: str) -> Any:
        calls.append(url)
        return url_fetch(url)

    return calls, fetch


def test_keys_are_fetched_on_first_use_and_cached(moto_jwks_url: str) -> None:
    calls, fetch = counting(http_get_json)
    keys = KeySet(moto_jwks_url, fetch=fetch, clock=Clock())
    assert calls == []  # nothing at construction (cold start)
    first = keys.key("dummy")
    assert keys.key("dummy") is first
    assert calls == [moto_jwks_url]


def test_an_unknown_kid_refetches_at_most_once_per_interval(moto_jwks_url: str) -> None:
    clock = Clock()
    calls, fetch = counting(http_get_json)
    keys = KeySet(moto_jwks_url, fetch=fetch, clock=clock)
    keys.key("dummy")
    clock.now += MIN_REFRESH_SECONDS + 1
    for _ in range(20):
        with pytest.raises(TokenRejectedError):
            keys.key("rotated-away")
    assert len(calls) == 2  # one refetch for twenty forged kids
    clock.now += MIN_REFRESH_SECONDS / 2
    with pytest.raises(TokenRejectedError):
        keys.key("still-unknown")
    assert len(calls) == 2
    clock.now += MIN_REFRESH_SECONDS
    with pytest.raises(TokenRejectedError):
        keys.key("still-unknown")
    assert len(calls) == 3


def test_a_rotated_key_is_picked_up_by_the_refetch() -> None:
    documents = [{"keys": []}, _public_jwks_document()]
    clock = Clock()
    keys = KeySet("https://issuer/.well-known/jwks.json", fetch=lambda url: documents.pop(0), clock=clock)
    with pytest.raises(TokenRejectedError):
        keys.key("dummy")
    clock.now += MIN_REFRESH_SECONDS
    assert keys.key("dummy") is not None


def _public_jwks_document() -> dict[str, Any]:
    from moto.utilities.utils import load_resource

    document: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return document


def test_an_unreachable_jwks_is_a_dependency_failure_not_a_401() -> None:
    def down(url: str) -> Any:
        raise urllib.error.URLError("connection refused")

    clock = Clock()
    keys = KeySet("https://issuer/.well-known/jwks.json", fetch=down, clock=clock)
    with pytest.raises(KeysUnavailableError):
        keys.key("dummy")
    assert keys.fetches == 1
    with pytest.raises(KeysUnavailableError):  # moments later: no new attempt
        keys.key("dummy")
    assert keys.fetches == 1


def test_only_rsa_signing_keys_for_rs256_are_kept() -> None:
    public = _public_jwks_document()["keys"][0]
    document = {
        "keys": [
            {**public, "kid": "enc", "use": "enc"},
            {**public, "kid": "other-alg", "alg": "RS512"},
            {"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"},
            public,
        ]
    }
    keys = KeySet("https://issuer/.well-known/jwks.json", fetch=lambda url: document, clock=Clock())
    assert keys.key("dummy") is not None
    for kid in ("enc", "other-alg", "symmetric"):
        with pytest.raises(TokenRejectedError):
            keys.key(kid)


def test_jwks_url_is_derived_from_the_issuer() -> None:
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert jwks_url(issuer) == f"{issuer}/.well-known/jwks.json"
    assert jwks_url(issuer, "http://127.0.0.1:5000/") == "http://127.0.0.1:5000/eu-west-1_AbC123/.well-known/jwks.json"


POOL = "eu-west-1_AbC123"
GOOD = {
    Env.COGNITO_USER_POOL_ID: POOL,
    Env.COGNITO_CLIENT_ID: "client123",
    Env.COGNITO_ISSUER: f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}",
}


def test_auth_settings_parse_and_validate() -> None:
    assert parse({}).auth.configured is False
    auth = parse({str(k): v for k, v in GOOD.items()}).auth
    assert auth.configured and auth.client_id == "client123" and auth.endpoint_url is None
    with pytest.raises(ConfigError, match="set together"):
        parse({Env.COGNITO_USER_POOL_ID: POOL})
    with pytest.raises(ConfigError, match="https"):
        parse({**GOOD, Env.COGNITO_ISSUER: f"http://cognito-idp.eu-west-1.amazonaws.com/{POOL}"})
    with pytest.raises(ConfigError, match="pool id"):
        parse({**GOOD, Env.COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"})


def test_the_seeded_admin_password_is_generated_once_and_kept_private(dynamodb: DynamoHandle, tmp_path: Path) -> None:
    first = ensure_user_pool(dynamodb.endpoint_url, tmp_path, suffix="creds")
    path = tmp_path / ADMIN_CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"email": first.admin_email, "password": first.admin_password}
    assert len(first.admin_password) >= 12
    again = ensure_user_pool(dynamodb.endpoint_url, tmp_path, suffix="creds")
    assert again == first  # same pool, client and password on the same server
    other = ensure_user_pool(dynamodb.endpoint_url, tmp_path / "elsewhere", suffix="creds")
    assert other.admin_password != first.admin_password


def test_the_local_pool_is_set_up_like_the_deployed_one(dynamodb: DynamoHandle, tmp_path: Path) -> None:
    from shop.declarations import USER_GROUPS, USER_POOL_AUTH_FLOWS
    from shop.local.services import cognito_client

    pool = ensure_user_pool(dynamodb.endpoint_url, tmp_path, suffix="shape")
    client = cognito_client(dynamodb.endpoint_url)
    described = client.describe_user_pool(UserPoolId=pool.user_pool_id)["UserPool"]
    assert described["Name"] == "ecommerce-users-shape"
    assert described["UsernameAttributes"] == ["email"]
    app_client = client.describe_user_pool_client(UserPoolId=pool.user_pool_id, ClientId=pool.client_id)
    assert "ClientSecret" not in app_client["UserPoolClient"]
    assert set(app_client["UserPoolClient"]["ExplicitAuthFlows"]) == set(USER_POOL_AUTH_FLOWS)
    groups = {g["GroupName"] for g in client.list_groups(UserPoolId=pool.user_pool_id)["Groups"]}
    assert groups == set(USER_GROUPS)
    admin_groups = client.admin_list_groups_for_user(UserPoolId=pool.user_pool_id, Username=pool.admin_email)
    assert [g["GroupName"] for g in admin_groups["Groups"]] == ["admin"]
    assert pool.environment()["COGNITO_ISSUER"].endswith(f"/{pool.user_pool_id}")


_SEGMENT_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=60)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _segment(value: Any) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.text(max_size=200),
        st.builds(lambda a, b, c: f"{a}.{b}.{c}", _SEGMENT_TEXT, _SEGMENT_TEXT, _SEGMENT_TEXT),
        st.builds(
            lambda h, p, sig: f"{_segment(h)}.{_segment(p)}.{sig}",
            st.one_of(
                _JSON,
                st.fixed_dictionaries(
                    {"alg": st.sampled_from(["RS256", "none", "HS256"]), "kid": st.one_of(_JSON, st.just("dummy"))}
                ),
            ),
            _JSON,
            _SEGMENT_TEXT,
        ),
    )
)
def test_any_input_is_a_rejection_never_a_crash(raw: str) -> None:
    from shop.auth.verifier import Verifier

    keys = KeySet("https://issuer/.well-known/jwks.json", fetch=lambda url: _public_jwks_document(), clock=Clock())
    verifier = Verifier("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x", "client", keys)
    with pytest.raises(TokenRejectedError):
        verifier.verify(raw)
