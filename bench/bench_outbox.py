"""What the outbox and the relay add to checkout: ``python bench/bench_outbox.py [--iterations 150]``.

Starts embedded PostgreSQL, the moto server (EventBridge bus, rule, queues) and localstripe in a
temporary directory, then times ``POST /api/checkout`` (two lines) through the real handler, warm, in three
modes, interleaved round by round so that a loaded machine slows all three alike:

* ``no outbox``: migration 0006's triggers disabled (the checkout as before issue 14);
* ``outbox only``: the triggers write OrderPlaced in the checkout's statement; no bus configured,
  so the rows wait for the sweep;
* ``outbox + publish``: as deployed: after the response is built the handler runs one relay batch
  (claim, PutEvents to moto, mark published) before it returns.

Prints median, p95 and mean per mode and the differences. moto answers PutEvents in-process over
HTTP on 127.0.0.1; EventBridge's own latency in a region (tens of milliseconds) is not in it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.events import ADDRESS, LambdaContext, rest_event  # noqa: E402 - after the path tweak

MODES = ("no outbox", "outbox only", "outbox + publish")
TRIGGERS = ("outbox_order_event ON order_history", "outbox_stock_low ON products")


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms   mean {statistics.fmean(ordered):6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150, help="checkouts per mode")
    args = parser.parse_args()

    import json

    import psycopg

    from shop import config, payments
    from shop.db.migrate import migrate
    from shop.db.seed import seed
    from shop.local import events as local_events
    from shop.local.services import (
        LOCAL_REGION,
        app_environment,
        configure_stripe,
        ensure_tables,
        ensure_token_secret,
        start_dynamodb,
        start_localstripe,
        start_postgres,
    )

    work = Path(tempfile.mkdtemp(prefix="shop-bench-outbox-"))
    pg = start_postgres(work / "pg")
    moto = start_dynamodb()
    stripe = start_localstripe()
    try:
        stripe.wait_ready()
        migrate(pg.url)
        seed(pg.url)
        os.environ.update(
            app_environment(
                pg.url,
                moto.endpoint_url,
                ensure_tables(moto.endpoint_url, "bench"),
                token_secret_file=ensure_token_secret(work / "secret"),
            )
        )
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        # Checkout creates a PaymentIntent (localstripe) after its commit, as in AWS.
        os.environ.update(configure_stripe(moto.endpoint_url, stripe, "http://127.0.0.1:9/unused", suffix="bench"))
        payments.reset()
        handle = local_events.ensure_events(moto.endpoint_url, LOCAL_REGION, suffix="bench")
        bus_env = handle.environment()

        from shop.api.handler import handler

        def body(event: dict[str, Any]) -> Any:
            response = handler(event, LambdaContext())
            if response["statusCode"] >= 400:
                raise RuntimeError(f"{event['path']}: {response['statusCode']} {response['body']}")
            return json.loads(response["body"])

        admin = psycopg.connect(pg.url, autocommit=True)
        admin.execute("UPDATE products SET stock = 1000000")
        ids = [p["id"] for p in body(rest_event("GET", "/api/products", query={"limit": "10"}))["items"]]

        def cart() -> str:
            new = body(rest_event("POST", "/api/carts"))["cart_id"]
            body(rest_event("PUT", f"/api/carts/{new}/items/{ids[0]}", body={"quantity": 1}))
            body(rest_event("PUT", f"/api/carts/{new}/items/{ids[1]}", body={"quantity": 2}))
            return str(new)

        def configure(mode: str) -> None:
            state = "DISABLE" if mode == "no outbox" else "ENABLE"
            for trigger in TRIGGERS:
                admin.execute(f"ALTER TABLE {trigger.split(' ON ')[1]} {state} TRIGGER {trigger.split(' ON ')[0]}")
            for key, value in bus_env.items():
                if mode == "outbox + publish":
                    os.environ[key] = value
                else:
                    os.environ.pop(key, None)
            config.reload()

        def checkout() -> float:
            event = rest_event(
                "POST",
                "/api/checkout",
                body={"cart_id": cart(), "email": "bench@example.com", "shipping_address": ADDRESS},
            )
            started = time.perf_counter()
            response = handler(event, LambdaContext())
            elapsed = (time.perf_counter() - started) * 1000
            assert response["statusCode"] == 201, response["body"]
            return elapsed

        samples: dict[str, list[float]] = {mode: [] for mode in MODES}
        for mode in MODES:  # warm-up: connections, clients, the first PutEvents
            configure(mode)
            for _ in range(5):
                checkout()
        for _ in range(args.iterations):
            for mode in MODES:
                configure(mode)
                samples[mode].append(checkout())
        admin.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
        published = admin.execute("SELECT count(*) FROM outbox").fetchone()
        load = os.getloadavg()[0]

        print(f"POST /api/checkout (2 lines), {args.iterations} per mode, interleaved; load average {load:.1f}")
        for mode in MODES:
            print(f"  {mode:<18} {_summary(samples[mode])}")
        base, outbox, publish = (statistics.median(samples[m]) for m in MODES)
        print(f"  the outbox row (trigger, same statement):        {outbox - base:+6.2f} ms median")
        print(f"  publishing after commit (claim, PutEvents, mark): {publish - outbox:+6.2f} ms median")
        print(f"  outbox rows written: {published[0] if published else 0}")
        admin.close()
    finally:
        stripe.stop()
        moto.stop()
        pg.stop()


if __name__ == "__main__":
    main()
