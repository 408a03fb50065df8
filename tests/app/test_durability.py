"""Acknowledged means durable, locally too (issue 17): SIGKILL PostgreSQL under checkout load.

A private PostgreSQL (the local platform's settings, from ``start_postgres``) takes checkouts from
several threads, each with its own connection, as fast as they go. Mid-load every PostgreSQL process
is SIGKILLed at once (no shutdown, no WAL flush). After a restart (crash recovery), every checkout
that was answered with an order must have its order and its lines. With ``synchronous_commit=off``
the last commits before the kill were acknowledged but lost.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shop.local.services import PostgresHandle, start_postgres

BUYERS = 4
CARTS_PER_BUYER = 100
LOAD_BEFORE_KILL_SECONDS = 1.5


def _postgres_pids(postmaster: int) -> list[int]:
    """The postmaster and its children (checkpointer, WAL writer, backends), by /proc parentage."""
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(entry.name))
    return pids


def _kill_all(handle: PostgresHandle) -> None:
    postmaster = int((handle.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(postmaster, signal.SIGSTOP)  # it must not respawn children while we kill them
    for pid in _postgres_pids(postmaster):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def private_postgres(monkeypatch: pytest.MonkeyPatch, app_env: dict[str, str]) -> Iterator[Path]:
    from shop import config
    from shop.db.connection import close_all
    from shop.db.migrate import migrate
    from shop.db.seed import seed

    root = Path(tempfile.mkdtemp(prefix="shop-test-durable-"))
    handle = start_postgres(root / "data")
    migrate(handle.url)
    seed(handle.url)
    close_all()
    monkeypatch.setenv("DATABASE_URL", handle.url)
    monkeypatch.setenv("DATABASE_READER_URL", handle.url)
    config.reload()
    try:
        yield root / "data"
    finally:
        close_all()
        monkeypatch.undo()
        config.reload()
        start_postgres(root / "data").stop()
        shutil.rmtree(root, ignore_errors=True)


def test_every_acknowledged_order_survives_a_postgres_sigkill(private_postgres: Path) -> None:
    from shop.api.models import CheckoutRequest
    from shop.db.connection import close_all
    from shop.domain import carts, checkout

    handle = start_postgres(private_postgres)
    with psycopg.connect(handle.url, autocommit=True) as conn:
        conn.execute("UPDATE products SET stock = 1000000")
        product = str(conn.execute("SELECT id FROM products ORDER BY id LIMIT 1").fetchone()[0])
    queues = []
    for _ in range(BUYERS):
        mine = []
        for _ in range(CARTS_PER_BUYER):
            cart = carts.create().cart_id
            carts.set_quantity(cart, product, 1)
            mine.append(cart)
        queues.append(mine)

    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def buy(mine: list[str]) -> None:
        try:
            for cart in mine:
                try:
                    order = checkout.checkout(CheckoutRequest(cart_id=cart, email="d@example.com"), None)
                except psycopg.Error as exc:  # the server is gone: stop, as a client would
                    with lock:
                        failures.append(type(exc).__name__)
                    return
                with lock:
                    acknowledged.append(order.order_id)
        finally:
            close_all()

    threads = [threading.Thread(target=buy, args=(mine,)) for mine in queues]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_BEFORE_KILL_SECONDS)
    _kill_all(handle)
    for thread in threads:
        thread.join(timeout=60)
    with lock:
        answered = list(acknowledged)
    assert len(answered) >= 20, f"too little load before the kill: {len(answered)} orders"
    assert failures, "the kill came after the load finished: raise CARTS_PER_BUYER"

    restarted = start_postgres(private_postgres, stop_at_exit=False)  # crash recovery
    with psycopg.connect(restarted.url, autocommit=True) as conn:
        found = {
            str(row[0])
            for row in conn.execute(
                "SELECT o.id FROM orders AS o JOIN order_lines AS l ON l.order_id = o.id WHERE o.id = ANY(%s::uuid[])",
                (answered,),
            ).fetchall()
        }
    lost = sorted(set(answered) - found)
    assert not lost, f"{len(lost)} of {len(answered)} acknowledged orders lost"
