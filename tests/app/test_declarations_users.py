"""Every app-side user of a shared declaration agrees with ``shop.declarations``.

Each test drives the user's real code path (not its constants) where it can, so that a copy that
drifts from the declaration fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shop import config, declarations
from shop.api import handler
from shop.api.app import build_rest
from shop.db import connection
from shop.domain import cache, carts
from shop.edge import config as edge_config
from shop.edge import handler as edge
from shop.local import gateway, services
from tests.app.events import LambdaContext, rest_event

GOOD_IDS = ["abc", "A1", "req-1.2:3_4", "x" * 128]
BAD_IDS = [".abc", "-abc", "_x", ":x", "", "x" * 129, "a b", "a/b", "é"]


@pytest.mark.parametrize("value", GOOD_IDS + BAD_IDS)
def test_api_and_edge_apply_the_one_request_id_rule(value: str) -> None:
    import re

    expected = re.fullmatch(declarations.REQUEST_ID_PATTERN, value) is not None
    assert expected == (value in GOOD_IDS)
    event = {"headers": {declarations.REQUEST_ID_HEADER: value}}
    assert (handler.request_id(event) == value) is expected
    cf_request = {"headers": {"x-request-id": [{"key": "X-Request-Id", "value": value}]}}
    assert (edge._request_id(cf_request) == value) is expected


def test_edge_mirror_equals_the_declarations() -> None:
    assert edge_config.REQUEST_ID_PATTERN == declarations.REQUEST_ID_PATTERN
    for details in (None, {}, {"path": "/x"}):
        assert edge_config.error_body("c", "m", details) == declarations.error_body("c", "m", details)


def test_edge_rejection_body_is_the_platform_error_body() -> None:
    rejection = edge.RejectedError(403, "forbidden", "no")
    response = edge.error_response(rejection, "rid")
    assert json.loads(response["body"]) == declarations.error_body("forbidden", "no")


def test_api_error_body_is_the_declared_one() -> None:
    from shop.api import errors

    assert errors.error_body is declarations.error_body
    assert declarations.error_body("c", "m") == {"error": {"code": "c", "message": "m", "details": {}}}
    assert json.loads(declarations.error_json("c", "m")) == declarations.error_body("c", "m")


def test_local_gateway_errors_use_the_declared_body() -> None:
    assert gateway.error_body is declarations.error_body


def _preflight(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(declarations.Env.CORS_ALLOW_ORIGIN, "https://shop.example")
    config.reload()
    app = build_rest()
    event = rest_event(
        "OPTIONS",
        "/api/products",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
    )
    response: dict[str, Any] = app.resolve(event, LambdaContext())
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(values)
    return headers


def test_api_cors_preflight_follows_the_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = _preflight(monkeypatch)
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert allowed >= {h.lower() for h in declarations.CORS_ALLOW_HEADERS}
    assert int(headers["access-control-max-age"]) == declarations.CORS_MAX_AGE_SECONDS


def test_ttl_defaults_are_the_declared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(declarations.Env.CART_TTL_SECONDS, raising=False)
    monkeypatch.delenv(declarations.Env.CACHE_TTL_SECONDS, raising=False)
    config.reload()
    assert carts._ttl() == declarations.CART_TTL_SECONDS == 7 * 24 * 3600
    assert cache._ttl() == declarations.CACHE_TTL_SECONDS
    env = services.app_environment(
        "postgresql:///x", "http://127.0.0.1:1", {s.logical: s.logical for s in declarations.TABLES}
    )
    assert int(env[declarations.Env.CART_TTL_SECONDS]) == declarations.CART_TTL_SECONDS
    assert int(env[declarations.Env.CACHE_TTL_SECONDS]) == declarations.CACHE_TTL_SECONDS


def test_db_connection_defaults_to_the_declared_name_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (declarations.Env.DB_PORT, declarations.Env.DB_NAME, declarations.Env.DB_READER_HOST):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(declarations.Env.DB_IAM_AUTH, "true")
    monkeypatch.setenv(declarations.Env.DB_WRITER_HOST, "proxy.example")
    monkeypatch.setenv(declarations.Env.DB_USER, "shop_api")
    config.reload()
    monkeypatch.setattr(connection, "auth_token", lambda host, port, user, region: "token")
    kwargs = connection.connect_kwargs(connection.Role.WRITER)
    assert (kwargs["port"], kwargs["dbname"]) == (declarations.DB_PORT, declarations.DB_NAME)
    assert services.DATABASE_NAME == declarations.DB_NAME


def test_local_table_names_follow_the_physical_name_rule() -> None:
    for spec in declarations.TABLES:
        assert services.table_name(spec, "local") == declarations.physical_name(spec.logical, "local")
    assert declarations.physical_name("cache", "dev") == "ecommerce-cache-dev"
