"""Shared fixtures: the shop's local data stores (embedded PostgreSQL, the moto server).

- ``postgres``: a PostgreSQL server for this session, migrated (``schema_migrations`` up to date).
- ``dynamodb``: moto's server on 127.0.0.1.
- ``tables``: every table of ``shop.declarations.TABLES`` created on it (logical → physical name).
- ``app_env``: the environment the API handler needs, applied to ``os.environ`` for the session (and
  restored afterwards); the dict itself is the fixture's value.
- ``localstripe``: localstripe on a free port; ``stripe_env``: the Stripe secrets in moto's SSM and
  the payments environment applied (``shop.payments`` works against localstripe).

Under pytest-xdist (``make test`` runs ``-n 3 --dist loadgroup``) every worker is its own session:
these fixtures start one PostgreSQL, moto and localstripe per worker, on free ports and fresh data
directories, and ``tmp_path`` lives under the worker's own basetemp. A test that would be costly to
repeat on each worker because of a session fixture (the shared local platform) is put in one
:data:`XDIST_GROUPS` group, so all of them run on one worker and share it.
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
    StripeHandle,
    app_environment,
    configure_stripe,
    ensure_tables,
    ensure_token_secret,
    start_dynamodb,
    start_localstripe,
    start_postgres,
)

# Session fixtures → the xdist group of every test that uses them (one instance per session, not
# per worker). Groups only take effect with --dist loadgroup (the Makefile's pytest target).
XDIST_GROUPS = {"local_platform": "local-platform"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, group in XDIST_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
                break


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


@pytest.fixture(scope="session")
def localstripe() -> Iterator[StripeHandle]:
    """localstripe on a free port for the session, state in memory only."""
    handle = start_localstripe()
    try:
        handle.wait_ready()
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def stripe_env(dynamodb: DynamoHandle, localstripe: StripeHandle) -> Iterator[dict[str, str]]:
    """The Stripe secrets in moto's SSM, and the payments environment applied to ``os.environ``.

    The dict also carries ``webhook_secret`` (the endpoint secret tests sign events with) and
    ``webhook_url`` (where localstripe delivers; nothing listens there unless a test registers its own).
    """
    from shop import payments

    secret = "whsec_test_" + "0" * 24
    webhook_url = "http://127.0.0.1:9/unused"
    env = configure_stripe(dynamodb.endpoint_url, localstripe, webhook_url, webhook_secret=secret, suffix="test")
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    payments.reset()
    yield {**env, "webhook_secret": secret, "webhook_url": webhook_url}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    payments.reset()
