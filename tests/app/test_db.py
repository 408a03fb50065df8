"""Migrations, seed data and connection settings (RDS Proxy + IAM token in AWS, a URL locally)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from shop import config
from shop.db import connection, migrate, seed
from shop.local.services import PostgresHandle


@pytest.fixture
def scratch_db(postgres: PostgresHandle) -> Iterator[str]:
    """An empty database on the session's server."""
    name = "scratch_migrations"
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres.url_for(name)
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migrate_applies_everything_once_and_records_it(scratch_db: str) -> None:
    available = migrate.available()
    assert available, "no migrations shipped"
    assert [m.version for m in available] == sorted({m.version for m in available})
    assert migrate.current_version(scratch_db) == 0
    applied = migrate.migrate(scratch_db)
    assert applied == [f"{m.version:04d}_{m.name}" for m in available]
    assert migrate.migrate(scratch_db) == []
    assert migrate.current_version(scratch_db) == available[-1].version
    with psycopg.connect(scratch_db) as conn:
        rows = conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version").fetchall()
        assert rows == [(m.version, m.name, m.checksum) for m in available]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"products", "orders", "order_lines", "schema_migrations"} <= tables


def test_concurrent_migrate_runs_are_serialised(scratch_db: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate.migrate(scratch_db))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, len(migrate.available())]


def test_a_changed_applied_migration_is_refused(scratch_db: str) -> None:
    migrate.migrate(scratch_db)
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        migrate.migrate(scratch_db)


def test_migrate_command_line(scratch_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert migrate.main(["--database-url", scratch_db]) == 0
    assert "applied 0001_" in capsys.readouterr().out
    assert migrate.main(["--database-url", scratch_db]) == 0
    assert "schema up to date" in capsys.readouterr().out


def test_migrate_lambda_handler_uses_the_function_settings(scratch_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch_db)
    monkeypatch.delenv("DB_IAM_AUTH", raising=False)
    config.reload()
    first = migrate.handler({}, None)
    assert first["applied"] and first["version"] == migrate.available()[-1].version
    assert migrate.handler({}, None) == {"applied": [], "version": first["version"]}


def test_seed_is_idempotent(scratch_db: str) -> None:
    migrate.migrate(scratch_db)
    assert seed.seed(scratch_db) == len(seed.SAMPLE_PRODUCTS)
    assert seed.seed(scratch_db) == 0
    with psycopg.connect(scratch_db) as conn:
        categories = conn.execute("SELECT count(DISTINCT category), min(stock) FROM products").fetchone()
    assert categories is not None and categories[0] >= 3 and categories[1] > 0


@pytest.fixture
def iam_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "DATABASE_READER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DB_IAM_AUTH", "true")
    monkeypatch.setenv("DB_WRITER_HOST", "ecommerce-proxy-test.proxy-abc.us-west-2.rds.amazonaws.com")
    monkeypatch.setenv("DB_READER_HOST", "ecommerce-proxy-ro-test.endpoint.proxy-abc.us-west-2.rds.amazonaws.com")
    monkeypatch.setenv("DB_PORT", "5432")
    monkeypatch.setenv("DB_NAME", "shop")
    monkeypatch.setenv("DB_USER", "shop_app")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    connection._token_cache.clear()
    config.reload()
    connection.rds.reset()


def test_iam_settings_use_the_proxy_with_tls_and_a_signed_token(iam_env: None) -> None:
    writer = connection.connect_kwargs(connection.Role.WRITER)
    reader = connection.connect_kwargs(connection.Role.READER)
    assert writer["host"].startswith("ecommerce-proxy-test.proxy-")
    assert reader["host"].startswith("ecommerce-proxy-ro-test.endpoint.")
    for kwargs in (writer, reader):
        assert kwargs["sslmode"] == "require"
        assert (kwargs["port"], kwargs["dbname"], kwargs["user"]) == (5432, "shop", "shop_app")
        # The password is a SigV4-presigned rds-db:connect request for this host and user (generated by botocore).
        token = urlparse("https://" + kwargs["password"])
        query = parse_qs(token.query)
        assert token.hostname == kwargs["host"] and token.port == 5432
        assert query["Action"] == ["connect"] and query["DBUser"] == ["shop_app"]
        assert query["X-Amz-Expires"] == ["900"]
        assert "/us-west-2/rds-db/aws4_request" in query["X-Amz-Credential"][0]


def test_iam_tokens_are_cached_until_shortly_before_expiry(iam_env: None) -> None:
    first = connection.connect_kwargs(connection.Role.WRITER)["password"]
    assert connection.connect_kwargs(connection.Role.WRITER)["password"] == first
    # Age the cached token past the reuse window: the next connection gets a fresh one.
    key = next(iter(connection._token_cache))
    token, issued = connection._token_cache[key]
    connection._token_cache[key] = (token, issued - connection.TOKEN_REUSE_SECONDS - 1)
    refreshed = connection.connect_kwargs(connection.Role.WRITER)["password"]
    assert connection._token_cache[key][1] >= issued  # regenerated, not served from the aged entry
    assert refreshed.startswith(connection.connect_kwargs(connection.Role.WRITER)["host"])
    assert connection.TOKEN_REUSE_SECONDS < 15 * 60


def test_reader_falls_back_to_the_writer(iam_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DB_READER_HOST")
    config.reload()
    assert (
        connection.connect_kwargs(connection.Role.READER)["host"]
        == connection.connect_kwargs(connection.Role.WRITER)["host"]
    )


def test_local_settings_use_the_urls(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_READER_URL", "postgresql://reader@127.0.0.1:1/shop")
    config.reload()
    assert connection.connect_kwargs(connection.Role.WRITER)["conninfo"] == app_env["DATABASE_URL"]
    assert connection.connect_kwargs(connection.Role.READER)["conninfo"].startswith("postgresql://reader@")
    assert connection.connect_kwargs(connection.Role.WRITER)["autocommit"] is True


def test_connections_are_reused_per_thread(app_env: dict[str, str]) -> None:
    connection.close_all()
    first, reused_first = connection.get_connection(connection.Role.WRITER)
    second, reused_second = connection.get_connection(connection.Role.WRITER)
    assert (reused_first, reused_second) == (False, True) and first is second
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(connection.get_connection(connection.Role.WRITER)[0]))
    thread.start()
    thread.join()
    assert other[0] is not first
    connection.close_all()
    assert first.closed
