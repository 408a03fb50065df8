"""The local platform (``python -m shop.local``) as a real subprocess, for the end-to-end tests.

``LocalPlatform`` starts it on a free port with its own data directory, waits until the health
check answers through the local gateway, and stops it with SIGINT (Ctrl-C) as a developer would,
checking that it exits cleanly. Its output is kept in ``platform.log`` in the data directory's
parent and shown when a test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shop.declarations import HEALTH_PATH
from shop.local.services import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 60


class LocalPlatform:
    """One run of ``python -m shop.local`` on 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = extra_args
        self.log_path = data_dir.parent / f"platform-{data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.seconds_to_ready: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalPlatform:
        command = [
            sys.executable,
            "-m",
            "shop.local",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        started = time.monotonic()
        deadline = started + START_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local platform exited with {self.process.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + HEALTH_PATH, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the local platform was not ready in {START_TIMEOUT_SECONDS}s:\n{self.output()}")
            time.sleep(0.1)
        self.seconds_to_ready = time.monotonic() - started
        return self

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Stop as Ctrl-C would; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""


def api(platform: LocalPlatform, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, platform.url + path, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    """One platform for the session (browser and fuzz tests), on a fresh data directory."""
    platform = LocalPlatform(tmp_path_factory.mktemp("platform") / "data").start()
    try:
        yield platform
    finally:
        code = platform.stop()
        assert code == 0, f"the local platform exited with {code} on SIGINT:\n{platform.output()}"


@pytest.fixture
def chromium_path() -> Path:
    """Debian's Chromium; a missing browser skips locally and fails in CI."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/system-deps.sh (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
