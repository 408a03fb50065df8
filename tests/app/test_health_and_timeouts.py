"""Deep health, and a hung dependency: with the DynamoDB endpoint paused (SIGSTOP), the API answers a
clean 503 within the declared client budget instead of hanging (issue 17, part 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shop.declarations import DYNAMODB_BUDGET, HEALTH_PROBE_BUDGET
from shop.local.services import ensure_tables, free_port
from tests.app.conftest import Call

# Scheduling slack on a busy 2-core machine.
SLACK_SECONDS = 2.0


def test_shallow_health_touches_nothing_and_deep_health_probes_both_stores(api: Call) -> None:
    assert (api("GET", "/api/health").status, api("GET", "/api/health").body) == (200, {"status": "ok"})
    reply = api("GET", "/api/health", query={"deep": "1"})
    assert reply.status == 200
    assert reply.body == {"status": "ok", "checks": {"database": "ok", "dynamodb": "ok"}}


def test_deep_health_reports_a_database_that_is_down(api: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.config import reload
    from shop.domain import health

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    reload()
    # The probe thread keeps its connection: make it reconnect to the broken URL.
    health._executors["database"]().submit(_close_thread_connections).result()
    reply = api("GET", "/api/health", query={"deep": "1"})
    assert reply.status == 503
    assert reply.error_code == "service_unavailable"
    assert reply.body["error"]["details"] == {"database": "unavailable", "dynamodb": "ok"}
    assert api("GET", "/api/health").status == 200  # the ALB's check stays cheap and green
    monkeypatch.undo()
    reload()
    health._executors["database"]().submit(_close_thread_connections).result()


def _close_thread_connections() -> None:
    from shop.db.connection import close_all

    close_all()


@pytest.fixture
def paused_moto(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    """A moto server in its own process, with the API's DynamoDB client pointed at it."""
    from shop import aws, config

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint + "/moto-api/", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        tables = ensure_tables(endpoint, suffix="test")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        for name, value in tables.items():
            monkeypatch.setenv(name, value)
        config.reload()
        aws.dynamodb.reset()
        aws.dynamodb_probe.reset()
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait(timeout=30)
        monkeypatch.undo()
        config.reload()
        aws.dynamodb.reset()
        aws.dynamodb_probe.reset()


def _timed(call: Call, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    reply = call(*args, **kwargs)
    return reply, time.monotonic() - started


def test_a_paused_dynamodb_gives_a_clean_503_within_the_budget(
    rest: Call, paused_moto: subprocess.Popen[bytes]
) -> None:
    created, _ = _timed(rest, "POST", "/api/carts")
    assert created.status == 201  # the endpoint works before the pause
    os.kill(paused_moto.pid, signal.SIGSTOP)
    try:
        reply, seconds = _timed(rest, "POST", "/api/carts")
        assert reply.status == 503 and reply.error_code == "service_unavailable"
        # Every attempt waited out its read timeout, and all of them fit the declared budget.
        assert DYNAMODB_BUDGET.attempts * DYNAMODB_BUDGET.read_seconds <= seconds
        assert seconds <= DYNAMODB_BUDGET.worst_case_seconds + SLACK_SECONDS

        reply, seconds = _timed(rest, "GET", "/api/carts/" + created.body["cart_id"])
        assert reply.status == 503 and seconds <= DYNAMODB_BUDGET.worst_case_seconds + SLACK_SECONDS

        reply, seconds = _timed(rest, "GET", "/api/health", query={"deep": "1"})
        assert reply.status == 503
        assert reply.body["error"]["details"] == {"database": "ok", "dynamodb": "timeout"}
        assert seconds <= HEALTH_PROBE_BUDGET.worst_case_seconds + SLACK_SECONDS
        reply, seconds = _timed(rest, "GET", "/api/health")
        assert reply.status == 200 and seconds < 1
    finally:
        os.kill(paused_moto.pid, signal.SIGCONT)
    time.sleep(1)  # the probe still in flight (timed out above) finishes once moto runs again
    assert rest("GET", "/api/carts/" + created.body["cart_id"]).status == 200
    assert rest("GET", "/api/health", query={"deep": "1"}).status == 200
