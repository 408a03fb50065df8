"""How fast `make dev` is ready, and how fast the local gateway answers.

Starts ``python -m shop.local`` as a subprocess three times on one data directory: fresh (initdb,
migrations, seed), then warm twice (existing data). "Ready" is process start to the first 200 from
``/api/health`` through the gateway; each start's own timeline (when PostgreSQL, moto, every setup
step, the workers and the warm-up ran) is printed with it, and the load average. Then, on the warm
platform, times sequential requests through the whole local stack (edge checks, API Gateway event,
handler, PostgreSQL/DynamoDB) and prints percentiles. Usage: ``python bench/bench_local_startup.py [--requests 200]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import LocalPlatform  # noqa: E402 - after the path tweak


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {pick(0.50):6.1f} ms   p95 {pick(0.95):6.1f} ms   max {ordered[-1]:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (default 200)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shop-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        for label in ("fresh data dir", "warm data dir", "warm data dir"):
            platform = LocalPlatform(data_dir).start()
            marker = "start-up (s): "
            steps = [ln.split(marker, 1)[1] for ln in platform.output().splitlines() if marker in ln]
            load = os.getloadavg()[0]
            print(f"ready ({label}): {platform.seconds_to_ready:.2f} s at load {load:.1f}", flush=True)
            if steps:
                print(f"  steps (s since start): {steps[-1]}", flush=True)
            platform.stop()

        platform = LocalPlatform(data_dir).start()
        try:
            session = requests.Session()
            products = session.get(platform.url + "/api/products?limit=100", timeout=10).json()["items"]
            cart_id = session.post(platform.url + "/api/carts", timeout=10).json()["cart_id"]
            endpoints = {
                "GET /api/health": "/api/health",
                "GET /api/products": "/api/products?limit=20",
                "GET /api/products/{id}": f"/api/products/{products[0]['id']}",
                "GET /api/carts/{id}": f"/api/carts/{cart_id}",
                "GET / (storefront)": "/",
            }
            for name, path in endpoints.items():
                samples = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = session.get(platform.url + path, timeout=10)
                    samples.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        print(f"{name}: HTTP {response.status_code}", file=sys.stderr)
                        return 1
                mean = statistics.mean(samples)
                print(f"{name:24s} {_percentiles(samples)}   (n={len(samples)}, mean {mean:.1f} ms)")
        finally:
            platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
