"""Warm per-route handler time and round trips, against embedded PostgreSQL and the moto server.

Starts the local services in a temporary directory, migrates and seeds, then calls
``shop.api.handler.handler`` in-process with API Gateway REST events (and ALB events for a few routes),
``--iterations`` times per route after a warm-up. For each route it prints the median and p99 handler
time and, for one representative call, the database round trips (client messages that wait for the
server: each Sync of the extended protocol and each simple Query, counted from libpq's protocol trace)
and the DynamoDB requests (botocore ``before-send`` events). Checkout is one statement that locks,
checks and writes in its own transaction: the bench fails unless it takes at most
``MAX_CHECKOUT_TRIPS`` round trips (1 when the order is placed; a replay adds the read of the order).

moto runs in this process's threads, so DynamoDB calls cost CPU here that AWS would not; the numbers
are an upper bound for the handler's own work. Usage: ``python bench/bench_warm.py [--iterations 200]
[--record]``; ``--record`` also writes the table to ``bench/results/warm.json``, the one file the cost
model (``python -m infra.cost``) reads the measured handler duration from.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.app.events import LambdaContext, alb_event, rest_event  # noqa: E402 - after the path tweak

Event = dict[str, Any]
RECORD = ROOT / "bench" / "results" / "warm.json"
MAX_CHECKOUT_TRIPS = 2


class RoundTrips:
    """Counts PostgreSQL round trips (libpq trace) and DynamoDB requests made by the handler."""

    def __init__(self, trace_dir: Path) -> None:
        self.trace_dir = trace_dir
        self.dynamo = 0
        self._files: list[tuple[Any, Path]] = []

    def attach(self) -> None:
        from psycopg.pq import Trace

        from shop.aws import dynamodb
        from shop.db.connection import Role, get_connection

        dynamodb().meta.events.register("before-send.dynamodb", self._count)
        for role in Role:
            conn, _ = get_connection(role)
            path = self.trace_dir / f"{role}.trace"
            handle = path.open("w")
            conn.pgconn.trace(handle.fileno())
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
            self._files.append((handle, path))

    def _count(self, **_: Any) -> None:
        self.dynamo += 1

    def reset(self) -> None:
        self.dynamo = 0
        for handle, _ in self._files:
            handle.flush()
            handle.seek(0)
            handle.truncate()

    def database(self) -> int:
        total = 0
        for handle, path in self._files:
            handle.flush()
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "F" and parts[2] in {"Sync", "Query"}:
                    total += 1
        return total


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def record(results: list[tuple[str, float, float, int, int]], iterations: int) -> None:
    """Write the table as JSON (route name -> median, p99, round trips) for the cost model."""
    RECORD.parent.mkdir(exist_ok=True)
    document = {
        "source": "bench/bench_warm.py --record",
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}",
        "iterations": iterations,
        "routes": {
            " ".join(name.split()): {
                "median_ms": round(median, 2),
                "p99_ms": round(p99, 2),
                "db_trips": db,
                "dynamo_requests": ddb,
            }
            for name, median, p99, db, ddb in results
        },
    }
    RECORD.write_text(json.dumps(document, indent=2) + "\n")
    print(f"recorded in {RECORD.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--record", action="store_true", help=f"also write the results to {RECORD.relative_to(ROOT)}")
    args = parser.parse_args()
    iterations = args.iterations

    from shop.db.migrate import migrate
    from shop.db.seed import seed
    from shop.local.services import (
        app_environment,
        ensure_tables,
        ensure_token_secret,
        start_dynamodb,
        start_postgres,
    )

    work = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    pg = start_postgres(work / "pg")
    dynamo = start_dynamodb()
    try:
        migrate(pg.url)
        seed(pg.url)
        os.environ.update(
            app_environment(
                pg.url,
                dynamo.endpoint_url,
                ensure_tables(dynamo.endpoint_url, "bench"),
                token_secret_file=ensure_token_secret(work / "secret"),
            )
        )
        os.environ["LOG_LEVEL"] = "WARNING"

        from shop.api.handler import handler

        def call(event: Event) -> dict[str, Any]:
            response = handler(event, LambdaContext())
            if response["statusCode"] >= 400:
                raise RuntimeError(
                    f"{event['httpMethod']} {event['path']}: {response['statusCode']} {response['body']}"
                )
            return response

        import json

        def body(event: Event) -> Any:
            return json.loads(call(event)["body"])

        products = body(rest_event("GET", "/api/products", query={"limit": "100"}))["items"]
        ids = [p["id"] for p in products]
        # Plenty of stock so that checkouts never run out during the benchmark.
        import psycopg

        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("UPDATE products SET stock = 1000000")
        cart = body(rest_event("POST", "/api/carts"))["cart_id"]
        body(rest_event("PUT", f"/api/carts/{cart}/items/{ids[0]}", body={"quantity": 1}))
        body(rest_event("PUT", f"/api/carts/{cart}/items/{ids[1]}", body={"quantity": 2}))
        placed = body(rest_event("POST", "/api/checkout", body={"cart_id": cart, "email": "bench@example.com"}))

        def cart_with_lines() -> str:
            new = body(rest_event("POST", "/api/carts"))["cart_id"]
            body(rest_event("PUT", f"/api/carts/{new}/items/{ids[2]}", body={"quantity": 1}))
            body(rest_event("PUT", f"/api/carts/{new}/items/{ids[3]}", body={"quantity": 2}))
            return str(new)

        view_cart = cart_with_lines()
        counter = iter(range(10**9))

        # name -> (setup returning the event to time)
        routes: list[tuple[str, Callable[[], Event]]] = [
            ("GET  /api/health", lambda: rest_event("GET", "/api/health")),
            ("GET  /api/products (cached)", lambda: rest_event("GET", "/api/products")),
            ("GET  /api/products (ALB, cached)", lambda: alb_event("GET", "/api/products")),
            ("GET  /api/products/{id} (cached)", lambda: rest_event("GET", f"/api/products/{ids[5]}")),
            ("POST /api/carts", lambda: rest_event("POST", "/api/carts")),
            ("GET  /api/carts/{id}", lambda: rest_event("GET", f"/api/carts/{view_cart}")),
            (
                "PUT  /api/carts/{id}/items/{pid}",
                lambda: rest_event(
                    "PUT", f"/api/carts/{view_cart}/items/{ids[4]}", body={"quantity": 1 + next(counter) % 9}
                ),
            ),
            (
                "DELETE /api/carts/{id}/items/{pid}",
                lambda: rest_event("DELETE", f"/api/carts/{view_cart}/items/{ids[4]}"),
            ),
            (
                "POST /api/checkout (2 lines)",
                lambda: rest_event(
                    "POST", "/api/checkout", body={"cart_id": cart_with_lines(), "email": "b@example.com"}
                ),
            ),
            (
                "POST /api/checkout (ALB, Idempotency-Key)",
                lambda: alb_event(
                    "POST",
                    "/api/checkout",
                    body={"cart_id": cart_with_lines(), "email": "b@example.com"},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                ),
            ),
            (
                "GET  /api/orders/{id}",
                lambda: rest_event(
                    "GET", f"/api/orders/{placed['order_id']}", headers={"X-Order-Token": placed["order_token"]}
                ),
            ),
            (
                "PUT  /api/admin/products/{id}/stock",
                lambda: rest_event(
                    "PUT", f"/api/admin/products/{ids[6]}/stock", body={"stock": 1000000}, api_key="bench"
                ),
            ),
        ]
        uncached: list[tuple[str, Callable[[], Event]]] = [
            ("GET  /api/products (no cache)", lambda: rest_event("GET", "/api/products")),
            ("GET  /api/products/{id} (no cache)", lambda: rest_event("GET", f"/api/products/{ids[5]}")),
        ]

        trips = RoundTrips(work)
        trips.attach()
        results: list[tuple[str, float, float, int, int]] = []

        def measure(name: str, make: Callable[[], Event]) -> None:
            for _ in range(max(5, iterations // 10)):  # warm-up (first-call validation set-up, caches)
                call(make())
            samples = []
            for _ in range(iterations):
                event = make()
                start = time.perf_counter()
                call(event)
                samples.append((time.perf_counter() - start) * 1000)
            event = make()
            trips.reset()
            call(event)
            results.append(
                (name, statistics.median(samples), percentile(samples, 0.99), trips.database(), trips.dynamo)
            )

        # The handler prints one EMF line per invocation with metrics (as in Lambda); keep them off the report.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            for name, make in routes:
                measure(name, make)
            os.environ["CACHE_TTL_SECONDS"] = "0"
            from shop import config

            config.reload()
            for name, make in uncached:
                measure(name, make)

        print(f"warm handler time, {iterations} calls per route after warm-up (in-process, local services):")
        print(f"  {'route':<44} {'median ms':>9} {'p99 ms':>8} {'db trips':>8} {'dynamo':>6}")
        for name, median, p99, db, ddb in results:
            print(f"  {name:<44} {median:9.2f} {p99:8.2f} {db:8d} {ddb:6d}")
        for name, _, _, db, _ in results:
            if "checkout" in name:
                assert 0 < db <= MAX_CHECKOUT_TRIPS, (
                    f"{name}: {db} PostgreSQL round trips (at most {MAX_CHECKOUT_TRIPS})"
                )
        heaviest = max(results, key=lambda r: r[1])
        print(f"heaviest route by median: {heaviest[0].strip()} {heaviest[1]:.2f} ms (budget 80 ms)")
        if args.record:
            record(results, iterations)
    finally:
        from shop.db.connection import close_all

        close_all()
        dynamo.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
