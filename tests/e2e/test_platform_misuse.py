"""The local platform misused: a second instance on the same data directory, a hung DynamoDB, and
what its logs look like (issue 17, part 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from shop.declarations import DYNAMODB_BUDGET, FUNCTION_TIMEOUT_SECONDS, HEALTH_PATH
from shop.local.services import free_port
from tests.e2e.conftest import ROOT, LocalPlatform, api


def _lines(platform: LocalPlatform) -> list[str]:
    return platform.log_path.read_text(errors="replace").splitlines()


def test_a_second_instance_on_the_same_data_dir_refuses_and_names_the_first(tmp_path: Path) -> None:
    first = LocalPlatform(tmp_path / "data").start()
    try:
        assert first.process is not None
        second = subprocess.run(
            [sys.executable, "-m", "shop.local", "--port", str(free_port()), "--data-dir", str(first.data_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert f"PID {first.process.pid}, port {first.port}" in second.stdout + second.stderr
        # The first one is untouched: its databases still answer (the probe's first connection
        # may miss its 2 s budget on a loaded machine, so allow a few tries).
        for _ in range(5):
            deep = api(first, "GET", HEALTH_PATH + "?deep=1")
            if deep.status_code == 200:
                break
            time.sleep(1)
        assert deep.status_code == 200, deep.text
        assert deep.json()["checks"] == {"database": "ok", "dynamodb": "ok"}

        # Default logs: one readable line per request, no JSON (neither log records nor metrics).
        assert api(first, "GET", "/api/products").status_code == 200
        assert api(first, "POST", "/api/carts").status_code == 201
        time.sleep(0.5)
        lines = _lines(first)
        assert any(" GET /api/products 200 " in line for line in lines)
        assert any(" POST /api/carts 201 " in line for line in lines)
        assert not [line for line in lines if line.lstrip().startswith("{")]
    finally:
        assert first.stop() == 0
    # Once the first one stopped, the data directory is free again.
    again = LocalPlatform(tmp_path / "data").start()
    assert again.stop() == 0


def test_a_paused_dynamodb_gives_503s_in_time_and_health_stays_responsive(tmp_path: Path) -> None:
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    platform = LocalPlatform(
        tmp_path / "data", extra_args=("--dynamodb-endpoint", endpoint, "--log-format", "json", "--log-metrics")
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint + "/moto-api/", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        platform.start()
        cart = api(platform, "POST", "/api/carts").json()["cart_id"]

        os.kill(moto.pid, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                started = time.monotonic()
                slow = [pool.submit(api, platform, "GET", f"/api/carts/{cart}") for _ in range(6)]
                time.sleep(0.3)
                health_started = time.monotonic()
                assert api(platform, "GET", HEALTH_PATH).status_code == 200
                assert time.monotonic() - health_started < 3  # not queued behind the hung requests
                statuses = [future.result().status_code for future in slow]
                elapsed = time.monotonic() - started
            # The function's own 503 (not the gateway's 504 at the function timeout). On an idle
            # machine this takes about DYNAMODB_BUDGET.worst_case_seconds; the app test
            # (tests/app/test_health_and_timeouts.py) holds the call to that budget.
            assert statuses == [503] * 6
            assert DYNAMODB_BUDGET.attempts * DYNAMODB_BUDGET.read_seconds <= elapsed < FUNCTION_TIMEOUT_SECONDS
            deep = api(platform, "GET", HEALTH_PATH + "?deep=1")
            assert deep.status_code == 503
            assert deep.json()["error"]["details"]["dynamodb"] == "timeout"
        finally:
            os.kill(moto.pid, signal.SIGCONT)
        assert api(platform, "GET", f"/api/carts/{cart}").status_code == 200

        # --log-format json: the function's JSON line per request; --log-metrics: the EMF blobs too.
        time.sleep(0.5)
        records = [json.loads(line) for line in _lines(platform) if line.startswith("{")]
        requests_logged = [r for r in records if r.get("message") == "request"]
        assert any(r.get("path") == f"/api/carts/{cart}" and r.get("status") == 200 for r in requests_logged)
        assert any("_aws" in r for r in records)
        assert not [line for line in _lines(platform) if " GET /api/carts/" in line and not line.startswith("{")]
    finally:
        platform.stop()
        moto.send_signal(signal.SIGCONT)
        moto.kill()
        moto.wait(timeout=30)
