"""The local platform under concurrent load: requests per second and p50/p99 latency.

Starts ``python -m shop.local`` (its own data directory, ``--workers`` API worker processes), gives
every product a large stock (so checkouts keep succeeding), then drives a mixed workload from
separate client processes (the clients share no lock or interpreter with the server). One client
loops over a shopping session:

    GET /api/products, GET /api/products/{id} (x2), POST /api/carts,
    PUT /api/carts/{id}/items/{product}, GET /api/carts/{id}, POST /api/checkout

at 1, 8 and 32 concurrent clients for ``--seconds`` each. Prints throughput, p50/p99 and errors per
level, and the ratio of 8 clients to 1 client. Target (issue 17): at 8 clients >= 3x the
throughput at 1 client on 2 cores.

Usage: ``python bench/bench_local_load.py [--seconds 10] [--workers 4] [--levels 1,8,32]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 3.0


# Checkout needs a shipping address (a flat rate per country zone).
ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _session(port: int, products: list[str], record: list[tuple[str, float, int]]) -> None:
    """One shopping session; appends (kind, seconds, status) for each request."""

    def timed(kind: str, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            status, data = _request(port, method, path, body)
        except OSError:
            status, data = 0, b""
        record.append((kind, time.perf_counter() - started, status))
        return status, data

    timed("browse", "GET", "/api/products?limit=10")
    for product in random.sample(products, 2):
        timed("browse", "GET", f"/api/products/{product}")
    status, data = timed("cart", "POST", "/api/carts")
    if status != 201:
        return
    cart = json.loads(data)["cart_id"]
    status, _ = timed("cart", "PUT", f"/api/carts/{cart}/items/{random.choice(products)}", {"quantity": 1})
    if status != 200:
        return
    timed("cart", "GET", f"/api/carts/{cart}")
    body = {"cart_id": cart, "email": f"bench-{uuid.uuid4().hex[:8]}@example.com", "shipping_address": ADDRESS}
    timed("checkout", "POST", "/api/checkout", body)


def _client_process(port: int, products: list[str], threads: int, seconds: float, out: Any) -> None:
    """``threads`` concurrent clients in this process for ``seconds``; sends the records back."""
    records: list[tuple[str, float, int]] = []
    start = time.monotonic() + 0.2
    deadline = start + seconds

    def loop() -> None:
        mine: list[tuple[str, float, int]] = []
        while time.monotonic() < start:
            time.sleep(0.01)
        while time.monotonic() < deadline:
            _session(port, products, mine)
        records.extend(mine)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.send(records)
    out.close()


def run_level(port: int, products: list[str], clients: int, seconds: float) -> dict[str, Any]:
    # Up to 8 client processes with a few threads each: the clients' own CPU stays spread.
    processes = min(clients, 8)
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for share in shares:
        receiver, sender = context.Pipe(duplex=False)
        proc = context.Process(target=_client_process, args=(port, products, share, seconds, sender))
        proc.start()
        pipes.append(receiver)
        procs.append(proc)
    records: list[tuple[str, float, int]] = []
    for receiver in pipes:
        records.extend(receiver.recv())
    for proc in procs:
        proc.join()
    latencies = sorted(r[1] * 1000 for r in records)
    errors = sum(1 for r in records if r[2] == 0 or r[2] >= 500)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "clients": clients,
        "requests": len(records),
        "rps": len(records) / seconds,
        "p50": quantiles[49],
        "p99": quantiles[98],
        "errors": errors,
        "checkouts": sum(1 for r in records if r[0] == "checkout" and r[2] == 201),
    }


def _start_platform(data_dir: Path, port: int, workers: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "shop.local", "--port", str(port), "--data-dir", str(data_dir)]
    command += ["--workers", str(workers), "--log-level", "WARNING"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    output = []
    for line in proc.stdout:
        output.append(line)
        if line.startswith("Ctrl-C to stop"):
            break
    else:
        raise RuntimeError("the local platform did not start:\n" + "".join(output))
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()  # drain
    url = next(m.group(1) for line in output if (m := re.search(r"postgres\s+(postgresql://\S+)", line)))
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="API worker processes (default: the platform's)")
    parser.add_argument("--levels", default="1,8,32")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from shop.local.__main__ import DEFAULT_WORKERS
    from shop.local.services import free_port

    workers = args.workers or DEFAULT_WORKERS
    levels = [int(x) for x in args.levels.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-load-")) / "data"
    port = free_port()
    proc, pg_url = _start_platform(data_dir, port, workers)
    try:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("UPDATE products SET stock = 1000000")
            products = [str(row[0]) for row in conn.execute("SELECT id FROM products").fetchall()]
        _session(port, products, [])  # warm every path once
        results = [run_level(port, products, clients, args.seconds) for clients in levels]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    load = os.getloadavg()
    print(f"local platform, mixed browse/cart/checkout, {workers} API worker processes, {os.cpu_count()} cores")
    print(f"  load average before/after: {load[0]:.2f} (1 min)")
    print(f"  {'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'5xx/err':>8} {'orders':>7}")
    for r in results:
        print(
            f"  {r['clients']:>7} {r['requests']:>9} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p99']:>8.1f}"
            f" {r['errors']:>8} {r['checkouts']:>7}"
        )
    by_level = {r["clients"]: r["rps"] for r in results}
    if 1 in by_level and 8 in by_level:
        ratio = by_level[8] / by_level[1]
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"  throughput at 8 clients / 1 client: {ratio:.2f}x ({verdict} the {TARGET_RATIO:g}x target)")


if __name__ == "__main__":
    main()
