"""The relay: publishes the outbox's pending rows to the EventBridge bus, at least once.

One batch (:func:`publish_batch`) is one transaction: it claims up to ``limit`` pending rows in
publication order with ``FOR UPDATE SKIP LOCKED`` (a concurrent relay takes the next rows instead of
the same ones), sends them with ``PutEvents`` (10 entries per call), marks the accepted entries
published and records the error of the refused ones, and commits. A crash before the commit leaves
the rows pending and unlocked: the next run sends them again (re-sends are allowed; consumers dedupe
on ``detail.event_id``, which is also the entry's identity in the archive). Nothing is lost, because
a row leaves the pending set only in the transaction that saw EventBridge accept it.

How it runs:

* **after commit, in the same invocation**: a request whose domain call may have written events
  (``shop.events.outbox.mark``) runs one batch before the function returns
  (:func:`after_commit`, called by ``shop.api.handler``); a failure there is logged, never the
  request's error. ``bench/bench_outbox.py`` measures what it adds to checkout.
* **a scheduled sweep** (``handler``: EventBridge Scheduler every ``RELAY_INTERVAL_SECONDS``; locally
  a thread of ``make dev``) publishes whatever is left (a failed PutEvents, a function that died
  after its commit, the expiry job's cancellations) and deletes published rows older than
  ``OUTBOX_RETENTION_DAYS``.

Without ``EVENT_BUS_NAME`` (tests without moto, a stack without events) nothing is published and
rows wait in the outbox.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from shop import config
from shop.db.connection import DictConnection, Role, run
from shop.events import OUTBOX_RETENTION_DAYS, PUT_EVENTS_MAX_ENTRIES, RELAY_INTERVAL_SECONDS, SOURCE
from shop.lazy import Lazy

log = logging.getLogger("shop.events.relay")

_CLAIM_SQL = """
SELECT seq, id::text AS id, detail_type, detail::text AS detail
FROM outbox
WHERE published_at IS NULL
ORDER BY seq
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
_PUBLISHED_SQL = (
    "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = ANY(%s)"
)
_FAILED_SQL = "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE seq = %s"
_PURGE_SQL = "DELETE FROM outbox WHERE published_at < now() - make_interval(days => %s)"
_PENDING_SQL = "SELECT count(*) AS pending FROM outbox WHERE published_at IS NULL"

# After commit the caller is waiting: one batch. The sweep loops until the outbox is drained.
AFTER_COMMIT_LIMIT = PUT_EVENTS_MAX_ENTRIES
SWEEP_BATCH = 100


@dataclass
class BatchResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0


def _events_client() -> Any:
    """EventBridge within a short budget (1 s connect, 2 s read, 2 attempts): the API waits on it."""
    from shop.aws import client, client_config

    return client("events", config=client_config())


events_client: Lazy[Any] = Lazy(_events_client)


def _entries(rows: list[dict[str, Any]], bus: str) -> list[dict[str, Any]]:
    return [
        {"Source": SOURCE, "DetailType": row["detail_type"], "Detail": row["detail"], "EventBusName": bus}
        for row in rows
    ]


def publish_batch(conn: DictConnection, bus: str, limit: int = SWEEP_BATCH, client: Any = None) -> BatchResult:
    """Claim, send and mark up to ``limit`` pending rows, in one transaction."""
    client = client or events_client()
    result = BatchResult()
    with conn.transaction():
        rows = conn.execute(_CLAIM_SQL, {"limit": limit}).fetchall()
        result.claimed = len(rows)
        published: list[int] = []
        for start in range(0, len(rows), PUT_EVENTS_MAX_ENTRIES):
            chunk = rows[start : start + PUT_EVENTS_MAX_ENTRIES]
            answer = client.put_events(Entries=_entries(chunk, bus))
            for row, entry in zip(chunk, answer.get("Entries", []), strict=False):
                if entry.get("ErrorCode"):
                    result.failed += 1
                    error = f"{entry['ErrorCode']}: {entry.get('ErrorMessage', '')}"[:500]
                    conn.execute(_FAILED_SQL, (error, row["seq"]))
                else:
                    published.append(row["seq"])
        if published:
            conn.execute(_PUBLISHED_SQL, (published,))
        result.published = len(published)
    return result


def bus_name() -> str | None:
    return config.settings().event_bus_name


def drain(limit: int = SWEEP_BATCH, max_batches: int = 50, client: Any = None) -> BatchResult:
    """Publish until the outbox has no claimable rows (or ``max_batches``); totals."""
    bus = bus_name()
    total = BatchResult()
    if bus is None:
        return total
    for _ in range(max_batches):
        batch = run(Role.WRITER, lambda conn: publish_batch(conn, bus, limit, client))
        total.claimed += batch.claimed
        total.published += batch.published
        total.failed += batch.failed
        if batch.claimed < limit or batch.published == 0:
            break
    return total


def after_commit() -> None:
    """One batch right after a request that wrote events; never raises (the sweep is the backstop)."""
    bus = bus_name()
    if bus is None:
        return
    try:
        run(Role.WRITER, lambda conn: publish_batch(conn, bus, AFTER_COMMIT_LIMIT))
    except Exception:
        log.warning("events not published after commit; the relay's sweep will send them", exc_info=True)


def purge() -> int:
    """Delete published rows older than the retention (the bus's archive keeps the events)."""
    return run(Role.WRITER, lambda conn: conn.execute(_PURGE_SQL, (OUTBOX_RETENTION_DAYS,)).rowcount)


def pending() -> int:
    row = run(Role.WRITER, lambda conn: conn.execute(_PENDING_SQL).fetchone())
    return int(row["pending"]) if row else 0


def sweep() -> dict[str, int]:
    result = drain()
    purged = purge()
    return {"published": result.published, "failed": result.failed, "purged": purged}


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point (EventBridge Scheduler invokes it every ``RELAY_INTERVAL_SECONDS``)."""
    result = sweep()
    if result["published"] or result["failed"]:
        log.info("relay sweep: %s", json.dumps(result))
    return result


def start_background(
    stop: threading.Event, interval: float = RELAY_INTERVAL_SECONDS, wake: threading.Event | None = None
) -> threading.Thread:
    """The local stand-in for the schedule: sweep every ``interval`` seconds (or when ``wake`` is set)."""

    def loop() -> None:
        while not stop.is_set():
            if wake is not None:
                wake.wait(interval)
                wake.clear()
            elif stop.wait(interval):
                break
            if stop.is_set():
                break
            try:
                result = drain()
                if result.failed:
                    log.warning("relay: %d event(s) refused by EventBridge; retried next sweep", result.failed)
            except Exception:
                log.exception("the relay sweep failed; it runs again in %.0fs", interval)

    thread = threading.Thread(target=loop, name="outbox-relay", daemon=True)
    thread.start()
    return thread


def main(argv: list[str]) -> int:
    """``python -m shop.events.relay [--loop SECONDS]``: drain once (or forever, every SECONDS)."""
    interval = float(argv[argv.index("--loop") + 1]) if "--loop" in argv else None
    while True:
        result = drain()
        print(json.dumps({"published": result.published, "failed": result.failed}), flush=True)
        if interval is None:
            return 0
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
