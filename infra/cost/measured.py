"""Measured handler durations: read from bench/results/warm.json, the one place they live.

``python bench/bench_warm.py --record`` rewrites that file; nothing else keeps a copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infra.cost.prices import CostModelError

WARM_RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "warm.json"
HEALTH_ROUTE = "GET /api/health"


@dataclass(frozen=True)
class Route:
    name: str
    median_ms: float
    dynamo_requests: int


@dataclass(frozen=True)
class Measured:
    source: str
    date: str
    machine: str
    heaviest: Route
    health: Route

    @property
    def citation(self) -> str:
        return f"{self.source}, {self.date} ({self.machine})"


def load(path: Path = WARM_RESULTS) -> Measured:
    """The heaviest route by median (what a request costs, at most) and the health route."""
    if not path.exists():
        raise CostModelError(f"{path} is missing: run python bench/bench_warm.py --record")
    document = json.loads(path.read_text())
    routes = [Route(name, float(r["median_ms"]), int(r["dynamo_requests"])) for name, r in document["routes"].items()]
    by_name = {r.name: r for r in routes}
    if HEALTH_ROUTE not in by_name:
        raise CostModelError(f"{path} has no {HEALTH_ROUTE!r} route")
    return Measured(
        source=str(document["source"]),
        date=str(document["date"]),
        machine=str(document["machine"]),
        heaviest=max(routes, key=lambda r: r.median_ms),
        health=by_name[HEALTH_ROUTE],
    )
