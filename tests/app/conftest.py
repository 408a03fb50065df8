"""Fixtures for the API tests: the real handler against embedded PostgreSQL and the moto server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from shop.db import migrate
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
def scratch_db(request: pytest.FixtureRequest, postgres: PostgresHandle) -> Iterator[str]:
    """An empty database on the session's server, named after the test module (``test_lifecycle``:
    ``scratch_lifecycle``) and dropped afterwards: the URL to reach it."""
    name = "scratch_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres.url_for(name)
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def schema_before(conn: psycopg.Connection[Any], version: int) -> str:
    """Bring an empty database (``scratch_db``) to the schema as it was before migration ``version``,
    each migration recorded as the runner records it, holding one product (X-1, 5 in stock at 1.00),
    so that ``migrate.migrate`` then applies ``version`` onwards to a database with data. The
    product's id."""
    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for m in migrate.available():
        if m.version < version:
            conn.execute(m.sql.encode())
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)", (m.version, m.name, m.checksum))
    row = conn.execute(
        "INSERT INTO products (sku, name, category, price_cents, stock) VALUES ('X-1', 'x', 'c', 100, 5)"
        " RETURNING id::text"
    ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def db(app_env: dict[str, str], postgres: PostgresHandle) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A direct, privileged connection for assertions on what the API wrote (the API itself signs
    in as the application role)."""
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def shop(
    app_env: dict[str, str], postgres: PostgresHandle, stripe_env: dict[str, str]
) -> Iterator[dict[str, dict[str, Any]]]:
    """A fresh sample catalog and no orders; returns products by SKU. Cache entries are invalidated."""
    from shop.db.connection import close_all
    from shop.domain import cache

    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("TRUNCATE refunds, stripe_events, order_history, order_lines, orders, products")
        seed(postgres.url)
        cols = ("id", "sku", "name", "category", "price_cents", "stock")
        rows = conn.execute("SELECT id::text, sku, name, category, price_cents, stock FROM products").fetchall()
    cache.invalidate()
    yield {row[1]: dict(zip(cols, row, strict=True)) for row in rows}
    close_all()
