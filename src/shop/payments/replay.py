"""Bring orders up to date with Stripe after missed webhooks: ``python -m shop.payments.replay``.

For every ``pending_payment`` order that has a PaymentIntent (oldest first, at most ``--limit``),
the intent is read from Stripe; a succeeded or cancelled one is applied exactly as its webhook would
be (``shop.domain.payments.apply_event``) under the event id ``replay:<intent id>:<status>``, so
running it twice, or a webhook arriving afterwards, changes nothing more. Use it after an outage of
the webhook endpoint (or locally after a crash: localstripe delivers each webhook once, without
retries). Reading the intents rather than Stripe's event list works on localstripe too, which has no
event list.

``make dev`` runs it by itself (:func:`start_background`): once as soon as it is ready, so payments
whose webhook was lost while the platform was down (killed, or stopped while localstripe still had
an event to deliver) are applied at the next start, and then every ``EXPIRY_INTERVAL_SECONDS``, so
a webhook lost while it kept running (a worker killed mid-request: localstripe does not retry) is
applied within minutes too.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from shop.declarations import EXPIRY_INTERVAL_SECONDS
from shop.payments.stripe_gateway import WebhookEvent

log = logging.getLogger("shop.payments.replay")

_TYPES = {"succeeded": "payment_intent.succeeded", "canceled": "payment_intent.canceled"}


def replay(limit: int = 1000) -> dict[str, str]:
    """Order id → what was applied, for each pending order whose intent has settled at Stripe."""
    from shop import payments
    from shop.db.connection import Role, run
    from shop.domain import payments as domain

    rows = run(
        Role.WRITER,
        lambda conn: conn.execute(
            "SELECT id::text AS id, payment_intent_id FROM orders WHERE status = 'pending_payment'"
            " AND payment_intent_id IS NOT NULL ORDER BY created_at LIMIT %s",
            (limit,),
        ).fetchall(),
    )
    applied: dict[str, str] = {}
    for row in rows:
        intent = payments.retrieve_intent(row["payment_intent_id"])
        event_type = _TYPES.get(intent.status)
        if event_type is None:
            continue
        event = WebhookEvent(
            id=f"replay:{intent.id}:{intent.status}",
            type=event_type,
            created=0,
            livemode=False,
            data_object={
                "id": intent.id,
                "object": "payment_intent",
                "amount": intent.amount_cents,
                "status": intent.status,
                "metadata": {"order_id": row["id"]},
            },
        )
        if domain.apply_event(event):
            applied[row["id"]] = event_type
    return applied


def start_background(stop: threading.Event, interval: float = EXPIRY_INTERVAL_SECONDS) -> threading.Thread:
    """The local platform's recovery of lost webhooks: replay now, then every ``interval`` s until ``stop``."""

    def loop() -> None:
        first = True
        while True:
            try:
                applied = replay()
                if applied:
                    log.info("replayed %d settled payment(s) whose webhook was lost", len(applied))
                if first:
                    # The start-up pass is done (tests wait for this line before they pay).
                    log.info("payment replay: pending orders checked at start")
            except Exception:
                log.exception("the payment replay failed; it runs again in %.0fs", interval)
            first = False
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="payment-replay", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.payments.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000, help="pending orders to check (oldest first)")
    args = parser.parse_args(argv)
    applied = replay(args.limit)
    for order_id, event_type in applied.items():
        print(f"{order_id}: {event_type}")
    print(f"applied {len(applied)} settled payment(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
