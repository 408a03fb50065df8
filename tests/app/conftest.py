"""Fixtures for the API tests: the real handler against embedded PostgreSQL and the moto server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from shop.db.seed import seed
from shop.local.services import PostgresHandle
from tests.app.events import LambdaContext, alb_event, rest_event

ADMIN_KEY = "test-admin-key"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code"))
        return None


def _flatten_headers(response: dict[str, Any]) -> dict[str, str]:
    headers = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = str(values[-1])
    return headers


def invoke(event: dict[str, Any]) -> Reply:
    from shop.api.handler import handler

    response = handler(event, LambdaContext())
    assert isinstance(response["statusCode"], int)
    assert response.get("isBase64Encoded") in (False, None)
    if "elb" in event["requestContext"]:
        # What an ALB expects back from a Lambda target.
        assert response["statusDescription"].startswith(f"{response['statusCode']} ")
    raw = response.get("body") or ""
    return Reply(response["statusCode"], _flatten_headers(response), json.loads(raw) if raw else None)


Call = Callable[..., Reply]


def make_call(source: str) -> Call:
    def call(method: str, path: str, **kwargs: Any) -> Reply:
        if source == "alb":
            kwargs.pop("api_key", None)
            return invoke(alb_event(method, path, **kwargs))
        return invoke(rest_event(method, path, **kwargs))

    return call


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test starts from the settings of the environment it runs in (Lambda parses them once)."""
    from shop import config

    config.settings.reset()
    yield
    config.settings.reset()


@pytest.fixture(params=["rest", "alb"])
def source(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(source: str, shop: dict[str, dict[str, Any]]) -> Call:
    """Call the handler through ``source`` (API Gateway REST or ALB events)."""
    return make_call(source)


@pytest.fixture
def rest(shop: dict[str, dict[str, Any]]) -> Call:
    return make_call("rest")


@pytest.fixture
def alb(shop: dict[str, dict[str, Any]]) -> Call:
    return make_call("alb")


@pytest.fixture
def admin(shop: dict[str, dict[str, Any]]) -> Call:
    """API Gateway events carrying an API key (admin routes)."""
    rest_call = make_call("rest")

    def call(method: str, path: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("api_key", ADMIN_KEY)
        return rest_call(method, path, **kwargs)

    return call


@pytest.fixture
def db(app_env: dict[str, str], postgres: PostgresHandle) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A direct, privileged connection for assertions on what the API wrote (the API itself signs
    in as the application role)."""
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def shop(app_env: dict[str, str], postgres: PostgresHandle) -> Iterator[dict[str, dict[str, Any]]]:
    """A fresh sample catalog and no orders; returns products by SKU. Cache entries are invalidated."""
    from shop.db.connection import close_all
    from shop.domain import cache

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("TRUNCATE order_lines, orders, products")
        seed(postgres.url)
        cols = ("id", "sku", "name", "category", "price_cents", "stock")
        rows = conn.execute("SELECT id::text, sku, name, category, price_cents, stock FROM products").fetchall()
    cache.invalidate()
    yield {row[1]: dict(zip(cols, row, strict=True)) for row in rows}
    close_all()
