"""How ``make dev`` starts: the moto setup steps run at once, moto is a child process that never
outlives the platform, and a warm start begins serving with a worker per core (the pool grows on
demand). The start-up time itself is a benchmark (bench/bench_local_startup.py), not a test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shop.declarations import HEALTH_PATH
from shop.local.__main__ import SETUP_STEPS, WARM_WORKERS
from tests.e2e.conftest import ROOT, START_TIMEOUT_SECONDS, LocalPlatform, api

pytestmark = pytest.mark.e2e

SPAN = re.compile(r"([a-z-]+) (\d+\.\d+)-(\d+\.\d+)")


def timeline(platform: LocalPlatform) -> dict[str, tuple[float, float]]:
    (line,) = [ln for ln in platform.output().splitlines() if "start-up (s):" in ln]
    return {name: (float(begin), float(end)) for name, begin, end in SPAN.findall(line.split("start-up (s):")[1])}


def children(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = command
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


def test_the_moto_setup_steps_run_at_once_after_moto_listens(tmp_path: Path) -> None:
    platform = LocalPlatform(tmp_path / "data").start()
    try:
        spans = timeline(platform)
        assert set(SETUP_STEPS) <= set(spans), spans
        moto_ready = spans["moto"][1]
        steps = [spans[name] for name in SETUP_STEPS]
        assert all(begin >= moto_ready for begin, _ in steps), spans
        # Concurrent, not one after another: every step started before the first one finished.
        assert max(begin for begin, _ in steps) < min(end for _, end in steps), spans
        # PostgreSQL starts with moto, not after it.
        assert spans["postgres"][0] < moto_ready, spans
    finally:
        assert platform.stop() == 0, platform.output()


def test_moto_localstripe_and_the_workers_die_with_a_killed_platform(tmp_path: Path) -> None:
    platform = LocalPlatform(tmp_path / "data").start()
    assert platform.process is not None
    kids = children(platform.process.pid)
    watched = {
        name: [pid for pid, command in kids.items() if marker in command]
        for name, marker in (
            ("moto", "shop.local.moto_server"),
            ("localstripe", "shop.local.localstripe_server"),
            ("forkserver", "forkserver"),
        )
    }
    assert all(len(pids) == 1 for pids in watched.values()), (watched, kids)
    workers = set(children(watched["forkserver"][0]))
    assert workers, "no warm API worker under the forkserver"
    platform.process.send_signal(signal.SIGKILL)
    platform.process.wait(timeout=30)
    deadline = time.monotonic() + 20
    left = {name: [p for p in pids if alive(p)] for name, pids in {**watched, "workers": list(workers)}.items()}
    while any(left.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {name: [p for p in pids if alive(p)] for name, pids in left.items()}
    assert not any(left.values()), f"outlived the platform: {left}"


def test_workers_start_one_per_core_and_stay_within_the_limit(tmp_path: Path) -> None:
    limit = 8
    platform = LocalPlatform(tmp_path / "data", extra_args=("--workers", str(limit)))
    command = [sys.executable, "-m", "shop.local", "--port", str(platform.port), "--data-dir", str(platform.data_dir)]
    with platform.log_path.open("ab") as log:
        platform.process = subprocess.Popen([*command, "--workers", str(limit)], cwd=ROOT, stdout=log, stderr=log)
    try:
        # Wait for the banner, not by polling HTTP: requests queued before "ready" would make the
        # pool grow (as any burst does) and hide how many workers the start itself made.
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while "Ctrl-C to stop." not in platform.output():  # the banner's last line
            assert platform.process.poll() is None and time.monotonic() < deadline, platform.output()
            time.sleep(0.1)
        assert f"{min(WARM_WORKERS, limit)} API worker process(es) warm, up to {limit} on demand" in platform.output()

        def workers() -> set[int]:
            # The pool's processes are children of the forkserver, itself a child of the platform.
            pool: set[int] = set()
            for pid, command in children(platform.process.pid).items():  # type: ignore[union-attr]
                if "forkserver" in command:
                    pool |= set(children(pid))
            return pool

        before = workers()
        # The warm ones, plus at most one the pool may add for the warm-up invocation (it spawns
        # when no idle worker has been reported back yet): not all eight.
        assert 1 <= len(before) <= min(WARM_WORKERS, limit) + 1 < limit, before
        # Concurrent requests may make the pool grow, never beyond --workers, and all of them answer.
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: api(platform, "GET", "/api/products?limit=5").status_code, range(48)))
        assert statuses == [200] * 48
        assert len(before) <= len(workers()) <= limit
        assert api(platform, "GET", HEALTH_PATH).status_code == 200
    finally:
        assert platform.stop() == 0, platform.output()
    assert os.path.exists(tmp_path / "data" / "moto.log")
