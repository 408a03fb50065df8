"""Cold init of the API function versus a bare boto3 baseline, each in a fresh process.

- baseline: ``import boto3`` and create a DynamoDB client (what any Python function pays);
- handler: ``import shop.api.handler`` and build what the first request needs: both resolvers
  (routers, pydantic models, validation), Logger/Metrics/Tracer, the DynamoDB client, psycopg.

Prints the median of ``--runs`` fresh processes for each, the ratio, the handler module's own import
cost (it imports only the standard library; the rest is deferred to the first call) and the
biggest import-time contributors of the full initialisation (``python -X importtime``).
Usage: ``python bench/bench_cold_start.py [--runs 7]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t0)
"""

HANDLER = """
import time
t0 = time.perf_counter()
import shop.api.handler as h
t1 = time.perf_counter()
h.resolvers()
from shop.api import observability as obs
from shop.aws import dynamodb
obs.logger(); obs.metrics(); obs.tracer()
dynamodb()
import shop.db.connection, shop.domain.checkout
print(time.perf_counter() - t0, t1 - t0)
"""

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "ecommerce-api",
    "PYTHONDONTWRITEBYTECODE": "1",
}


# What Lambda sets when active tracing is on (the SDK then records to a daemon that is absent here).
TRACED = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    "AWS_LAMBDA_FUNCTION_NAME": "ecommerce-api-bench",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


def _run(
    code: str, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV, **(env or {}), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, *(extra or []), "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )


def _importtime_top(limit: int = 8) -> list[tuple[str, float]]:
    """Cumulative import time per top-level package for the handler's full initialisation."""
    stderr = _run(HANDLER, ["-X", "importtime"]).stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            self_us, package = int(match.group(1)), match.group(4).split(".")[0]
            per_package[package] += self_us / 1000
    return sorted(per_package.items(), key=lambda kv: -kv[1])[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    _run(HANDLER)  # warm the OS page cache and compile bytecode once
    _run(BASELINE)
    baseline, handler, traced, module_only = [], [], [], []
    for _ in range(args.runs):
        baseline.append(float(_run(BASELINE).stdout.split()[0]) * 1000)
        total, module = (float(x) * 1000 for x in _run(HANDLER).stdout.split())
        handler.append(total)
        module_only.append(module)
        traced.append(float(_run(HANDLER, env=TRACED).stdout.split()[0]) * 1000)
    base_ms, handler_ms, traced_ms = (statistics.median(x) for x in (baseline, handler, traced))
    print(f"cold init, median of {args.runs} fresh processes (python {sys.version.split()[0]}):")
    print(f"  baseline  import boto3 + DynamoDB client              {base_ms:8.1f} ms")
    print(f"  handler   import + resolvers + clients (no X-Ray)      {handler_ms:8.1f} ms")
    print(f"  ratio     handler / baseline                           {handler_ms / base_ms:8.2f} x")
    print(f"  handler   with X-Ray tracing on (as in AWS)            {traced_ms:8.1f} ms")
    print(f"  ratio     traced handler / baseline                    {traced_ms / base_ms:8.2f} x")
    print(f"  import shop.api.handler alone                          {statistics.median(module_only):8.1f} ms")
    print("largest import-time contributors of the handler's initialisation (self time, ms):")
    for package, ms in _importtime_top():
        print(f"  {package:<28} {ms:8.1f}")


if __name__ == "__main__":
    main()
