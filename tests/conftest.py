"""Shared fixtures: the shop's local data stores (embedded PostgreSQL, the moto server).

- ``postgres``: a PostgreSQL server for this session, migrated (``schema_migrations`` up to date).
- ``dynamodb``: moto's server on 127.0.0.1.
- ``tables``: every table of ``shop.declarations.TABLES`` created on it (logical → physical name).
- ``app_env``: the environment the API handler needs, applied to ``os.environ`` for the session (and
  restored afterwards); the dict itself is the fixture's value.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.local.services import (
    DynamoHandle,
    PostgresHandle,
    app_environment,
    ensure_tables,
    ensure_token_secret,
    start_dynamodb,
    start_postgres,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresHandle]:
    from shop.db.migrate import migrate

    # Not under pytest's temp root: when we run as root the server runs as another user, who must be
    # able to reach its data directory for the whole session.
    root = Path(tempfile.mkdtemp(prefix="shop-test-pg-"))
    handle = start_postgres(root / "data")
    try:
        migrate(handle.url)
        yield handle
    finally:
        handle.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[DynamoHandle]:
    handle = start_dynamodb()
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def tables(dynamodb: DynamoHandle) -> dict[str, str]:
    return ensure_tables(dynamodb.endpoint_url, suffix="test")


@pytest.fixture(scope="session")
def token_secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The order-token secret file of the test session (as the local platform keeps one)."""
    return ensure_token_secret(tmp_path_factory.mktemp("secret"))


@pytest.fixture(scope="session")
def app_env(
    postgres: PostgresHandle, dynamodb: DynamoHandle, tables: dict[str, str], token_secret: Path
) -> Iterator[dict[str, str]]:
    env = app_environment(postgres.url, dynamodb.endpoint_url, tables, token_secret_file=token_secret)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
