"""Cold init of the API function versus a bare boto3 baseline, each in a fresh process.

- baseline: ``import boto3`` and create a DynamoDB client (what any Python function pays);
- handler: ``import shop.api.handler`` and build what the first request through API Gateway needs:
  the REST resolver (routers, pydantic models, validation), Logger/Metrics, the Tracer when the
  invocation is traced and sampled, the DynamoDB client;
- the same plus the first database call's import (psycopg), paid by the first request that needs
  PostgreSQL (a catalog cache miss, checkout, an order) instead of by every cold start.

With X-Ray tracing on (as the stacks run), the X-Ray SDK loads only for an invocation whose trace
is sampled (``_X_AMZN_TRACE_ID`` with ``Sampled=1``); both cases are measured, in the environment
Lambda gives a function (``LAMBDA_TASK_ROOT`` among it, which puts the SDK in its Lambda mode).

A last row measures the stack alone (Powertools' REST resolver with validation, Logger, Metrics, one
pydantic model, the DynamoDB client; no shop code): the floor any function on this stack pays.
Everything is byte-compiled first, as in the image.

Prints the median of ``--runs`` fresh processes for each, the ratios, the handler module's own
import cost and the biggest import-time contributors of the initialisation (``python -X
importtime``), untraced and traced-sampled.
Usage: ``python bench/bench_cold_start.py [--runs 7] [--compare TREE]``; ``--compare`` runs another
checkout's handler (``git worktree add /tmp/before <rev>``) interleaved with this one's, for a
before/after that a drifting machine cannot skew.
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
t0, c0 = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t0, 0, time.process_time() - c0)
"""

HANDLER = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import shop.api.handler as h
t1 = time.perf_counter()
h.resolvers.for_source("rest")
from shop.api import observability as obs
from shop.aws import dynamodb
obs.logger(); obs.metrics(); obs.tracer()
dynamodb()
print(time.perf_counter() - t0, t1 - t0, time.process_time() - c0)
"""

# The first request that reaches PostgreSQL also imports the driver.
WITH_DATABASE = HANDLER.replace("dynamodb()\n", "dynamodb()\nimport psycopg, psycopg.rows\n")

# The stack alone, with none of the shop: what any function built on Powertools' REST resolver with
# request validation, Logger, Metrics, one pydantic model and a DynamoDB client pays. The handler's
# distance from this row is the shop's own share of the cold start.
STACK_ONLY = """
import time
t0, c0 = time.perf_counter(), time.process_time()
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
import pydantic
class Item(pydantic.BaseModel):
    id: str
app = APIGatewayRestResolver(enable_validation=True)
@app.get("/items/<item_id>")
def get_item(item_id: str) -> Item:
    return Item(id=item_id)
Logger(service="bench"); Metrics(namespace="bench", service="bench")
import botocore.session
botocore.session.get_session().create_client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t0, 0, time.process_time() - c0)
"""

# What the function's environment holds besides its own settings (shop.declarations, read at
# import: the bench runs from the repository root).
sys.path.insert(0, str(ROOT / "src"))
from shop.declarations import LIBRARY_ENVIRONMENT  # noqa: E402

ENV = {
    **{str(name): value for name, value in LIBRARY_ENVIRONMENT.items()},
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "ecommerce-api",
    "PYTHONDONTWRITEBYTECODE": "1",
}


# What Lambda sets when active tracing is on (the SDK then records to a daemon that is absent here).
# LAMBDA_TASK_ROOT is how the X-Ray SDK knows it runs in Lambda: it then takes the trace from
# Lambda's facade segment and samples locally; without it the SDK builds a centralised-sampling
# X-Ray client at import (a botocore service model load that no Lambda function pays).
TRACED = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    "AWS_LAMBDA_FUNCTION_NAME": "ecommerce-api-bench",
    "LAMBDA_TASK_ROOT": str(ROOT / "src"),
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
}
SAMPLED = {**TRACED, "_X_AMZN_TRACE_ID": TRACED["_X_AMZN_TRACE_ID"].replace("Sampled=0", "Sampled=1")}


def _run(
    code: str, extra: list[str] | None = None, env: dict[str, str] | None = None, tree: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with ``tree``'s ``src`` first on the path (and as the task root)."""
    env = {**os.environ, **ENV, **(env or {}), "PYTHONPATH": str(tree / "src")}
    if "LAMBDA_TASK_ROOT" in env:
        env["LAMBDA_TASK_ROOT"] = str(tree / "src")
    return subprocess.run(
        [sys.executable, *(extra or []), "-c", code], capture_output=True, text=True, check=True, env=env, cwd=tree
    )


def _importtime_top(env: dict[str, str] | None = None, limit: int = 8, tree: Path = ROOT) -> list[tuple[str, float]]:
    """Import self time per top-level package for the handler's initialisation."""
    stderr = _run(HANDLER, ["-X", "importtime"], env=env, tree=tree).stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            self_us, package = int(match.group(1)), match.group(4).split(".")[0]
            per_package[package] += self_us / 1000
    return sorted(per_package.items(), key=lambda kv: -kv[1])[:limit]


def _ms(code: str, env: dict[str, str] | None = None, tree: Path = ROOT) -> tuple[float, float, float]:
    """(wall, module import, CPU) milliseconds of one fresh process."""
    total, module, cpu = (float(x) * 1000 for x in _run(code, env=env, tree=tree).stdout.split())
    return total, module, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="TREE",
        help="another checkout (git worktree add /tmp/before REV): its handler runs interleaved with this one",
    )
    args = parser.parse_args()
    # As in the image (pip byte-compiles the requirements, the Dockerfile the shop): every module
    # loads from its .pyc, never from source, whatever state this virtual environment is in.
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", site_packages]
        + [str(tree / "src" / "shop") for tree in (ROOT, args.compare) if tree],
        check=True,
        capture_output=True,
    )
    _run(HANDLER)  # warm the OS page cache once
    _run(HANDLER, env=SAMPLED)
    _run(BASELINE)
    runs: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.runs):  # interleaved, so that a busy moment hits every variant alike
        for key, code, env in (
            ("baseline", BASELINE, None),
            ("handler", HANDLER, None),
            ("traced", HANDLER, TRACED),
            ("sampled", HANDLER, SAMPLED),
            ("database", WITH_DATABASE, None),
            ("stack", STACK_ONLY, None),
        ):
            wall, module, cpu = _ms(code, env)
            runs[key].append(wall)
            runs[key + "_cpu"].append(cpu)
            if key == "handler":
                runs["module"].append(module)
            if args.compare and key not in ("baseline", "stack"):
                runs["compare_" + key + "_cpu"].append(_ms(code, env, args.compare)[2])
    med = {name: statistics.median(values) for name, values in runs.items()}
    base, base_cpu = med["baseline"], med["baseline_cpu"]
    print(f"cold init, median of {args.runs} fresh processes (python {sys.version.split()[0]}):")
    print(f"  load average: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    print("  (wall ms, ratio to baseline; then CPU ms and ratio, which a busy shared machine distorts less)")
    print(f"  baseline  import boto3 + DynamoDB client                 {base:8.1f} ms         {base_cpu:8.1f} ms")
    rows = [
        ("handler", "handler, no X-Ray (first REST request)"),
        ("traced", "handler, X-Ray on, trace not sampled"),
        ("sampled", "handler, X-Ray on, trace sampled (SDK loaded)"),
        ("database", "handler + first database call (psycopg), no X-Ray"),
        ("stack", "the stack alone: Powertools resolver+validation, no shop"),
    ]
    for key, label in rows:
        wall, cpu = med[key], med[key + "_cpu"]
        print(f"  {label:<54} {wall:8.1f} ms {wall / base:5.2f} x {cpu:8.1f} ms {cpu / base_cpu:5.2f} x")
    print(f"  import shop.api.handler alone                          {med['module']:8.1f} ms")
    trees: list[tuple[str, Path]] = [("this tree", ROOT)]
    if args.compare:
        print(f"the same handler rows from {args.compare}, interleaved (CPU ms, ratio to this run's baseline):")
        for key, label in rows:
            if "compare_" + key + "_cpu" in med:
                cpu = med["compare_" + key + "_cpu"]
                print(f"  {label:<54} {cpu:8.1f} ms {cpu / base_cpu:5.2f} x")
        trees.append((str(args.compare), args.compare))
    for name, tree in trees:
        for label, env in (("no X-Ray", None), ("X-Ray, sampled", SAMPLED)):
            print(f"largest import-time contributors, {name}, {label} (self time, ms):")
            for package, ms in _importtime_top(env, tree=tree):
                print(f"  {package:<28} {ms:8.1f}")


if __name__ == "__main__":
    main()
