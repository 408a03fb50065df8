"""The database is waking up: migrations and the API wait for a server that accepts connections late
(issue 10 item 3, issue 11 part 2), within budgets that nest inside their callers' timeouts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from shop import config
from shop.db import connection, migrate, wakeup
from shop.local.services import PostgresHandle
from tests.app.late_server import LateServer

# Aurora Serverless v2 takes about 15 s to resume; these tests use a few seconds of the same shape.
LATE_SECONDS = 2.5


@pytest.fixture
def late_db(postgres: PostgresHandle) -> Iterator[str]:
    """An empty database on the session's server (the migration test applies everything to it)."""
    name = "scratch_wakeup"
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("mode", ["refuse", "hold"])
def test_migration_waits_for_a_database_that_comes_up_late(
    postgres: PostgresHandle, late_db: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "hold" with a connect timeout shorter than the wait: the attempts time out and are retried.
    monkeypatch.setattr(migrate, "CONNECT_TIMEOUT_SECONDS", 1)
    server = LateServer(postgres.port, LATE_SECONDS, mode)  # type: ignore[arg-type]
    try:
        started = time.monotonic()
        applied = migrate.migrate(server.url(database=late_db), wait_seconds=30)
        waited = time.monotonic() - started
    finally:
        server.close()
    assert applied == [f"{m.version:04d}_{m.name}" for m in migrate.available()]
    assert waited >= LATE_SECONDS - 0.5
    assert migrate.current_version(postgres.url_for(late_db)) == migrate.available()[-1].version


def test_without_a_wait_a_late_database_fails_the_migration(postgres: PostgresHandle, late_db: str) -> None:
    server = LateServer(postgres.port, LATE_SECONDS, "refuse")
    try:
        with pytest.raises(psycopg.OperationalError):
            migrate.migrate(server.url(database=late_db))
    finally:
        server.close()


def test_the_migration_gives_up_within_its_budget(postgres: PostgresHandle, late_db: str) -> None:
    server = LateServer(postgres.port, 60, "refuse")
    try:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            migrate.migrate(server.url(database=late_db), wait_seconds=1.5)
        assert time.monotonic() - started < 5
    finally:
        server.close()


def test_the_handler_waits_its_budget_well_under_the_function_timeout() -> None:
    from infra.components.migrations import TIMEOUT_SECONDS

    # Budget + one more attempt's connect timeout + the migrations themselves fit in the timeout.
    assert wakeup.MIGRATION_BUDGET_SECONDS + migrate.CONNECT_TIMEOUT_SECONDS <= TIMEOUT_SECONDS / 2


def test_the_api_wait_fits_inside_the_request_path() -> None:
    from infra.settings import PROFILES

    api_gateway_integration_timeout = 29
    worst = wakeup.API_BUDGET_SECONDS + connection.CONNECT_TIMEOUT_SECONDS
    assert worst < api_gateway_integration_timeout
    for profile in PROFILES.values():
        assert worst < profile.lambda_timeout_seconds
    # Long enough for Aurora Serverless v2 to resume from 0 ACU (about 15 s).
    assert wakeup.budget_seconds(iam_auth=True) >= 15
    assert wakeup.budget_seconds(iam_auth=False) < wakeup.budget_seconds(iam_auth=True)


@pytest.mark.parametrize("mode", ["refuse", "hold"])
def test_the_first_request_after_a_pause_succeeds(
    app_env: dict[str, str], postgres: PostgresHandle, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's connection path (connection.run) against a database that is waking up: the first
    query waits for it and succeeds instead of failing."""
    server = LateServer(postgres.port, LATE_SECONDS, mode)  # type: ignore[arg-type]
    monkeypatch.setenv("DATABASE_URL", server.url())
    monkeypatch.setenv("DATABASE_READER_URL", server.url())
    # The AWS budget (a resuming cluster), with the local connection settings.
    monkeypatch.setattr(wakeup, "LOCAL_BUDGET_SECONDS", wakeup.API_BUDGET_SECONDS)
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT_SECONDS", 1)
    config.reload()
    connection.close_all()
    try:
        started = time.monotonic()
        count = connection.run(
            connection.Role.READER, lambda conn: conn.execute("SELECT count(*) AS n FROM products").fetchone()
        )
        waited = time.monotonic() - started
    finally:
        connection.close_all()
        server.close()
        monkeypatch.undo()
        config.reload()
    assert count is not None and count["n"] >= 0
    assert waited >= LATE_SECONDS - 0.5
    assert server.accepted >= 1


def test_backoff_is_bounded_and_other_errors_are_not_retried() -> None:
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    def refused() -> None:
        raise psycopg.OperationalError("connection refused")

    with pytest.raises(psycopg.OperationalError):
        wakeup.connect_until_ready(refused, budget_seconds=20, sleep=sleep, clock=lambda: now[0])
    assert sum(pauses) == pytest.approx(20)
    assert max(pauses) <= wakeup.MAX_DELAY_SECONDS

    calls = []

    def bad_password() -> None:
        calls.append(1)
        raise psycopg.ProgrammingError("not a connection problem")

    with pytest.raises(psycopg.ProgrammingError):
        wakeup.connect_until_ready(bad_password, budget_seconds=20, sleep=sleep, clock=lambda: now[0])
    assert calls == [1]
