"""Expire unpaid reservations: ``pending_payment`` orders older than ``PAYMENT_WINDOW_SECONDS``
(default 30 min) are cancelled and their stock released (``shop.domain.fulfilment.expire``).

In AWS the API image runs this with the command ``shop.jobs.expire.handler`` on a schedule; locally
``make dev`` runs :func:`start_background` (a daemon thread, every ``EXPIRY_INTERVAL_SECONDS``).
``python -m shop.jobs.expire`` runs it once. A payment that succeeds after its order expired is
refunded by the webhook (``shop.domain.payments``): the stock is never re-reserved.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from shop import config
from shop.declarations import EXPIRY_INTERVAL_SECONDS

log = logging.getLogger("shop.jobs.expire")


def run_once() -> list[str]:
    from shop.domain import fulfilment

    return fulfilment.expire(config.settings().payment_window_seconds)


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point (EventBridge Scheduler invokes it)."""
    expired = run_once()
    return {"expired": len(expired)}


def start_background(stop: threading.Event, interval: float = EXPIRY_INTERVAL_SECONDS) -> threading.Thread:
    """The local stand-in for the schedule: run the job every ``interval`` seconds until ``stop``."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                expired = run_once()
                if expired:
                    log.info("expired %d unpaid order(s)", len(expired))
            except Exception:
                log.exception("the expiry job failed; it runs again in %.0fs", interval)

    thread = threading.Thread(target=loop, name="reservation-expiry", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":
    print(f"expired {len(run_once())} order(s)")
    sys.exit(0)
