"""What a million API requests cost on top of the idle floor, at the measured handler duration."""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.cost.measured import Measured
from infra.cost.model import Graph, GraphResource, lambda_gb_seconds_price
from infra.cost.prices import CostModelError, PriceBook

MILLION = 1_000_000


@dataclass(frozen=True)
class RequestLine:
    item: str
    per_million: float
    note: str
    # Which entry path pays it: "both", "api gateway" or "alb".
    path: str = "both"


@dataclass(frozen=True)
class RequestCost:
    function: str
    memory_mb: int
    duration_ms: float
    lines: list[RequestLine]

    def total(self, path: str) -> float:
        return sum(line.per_million for line in self.lines if line.path in ("both", path))


def api_function(graph: Graph) -> GraphResource:
    """The function behind the ALB target group (the one API Gateway integrates with too)."""
    targets = {
        str(a.inputs.get("targetId")) for a in graph.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    }
    found = [fn for fn in graph.of_type("aws:lambda/function:Function") if graph.arn_of(fn) in targets]
    if len(found) != 1:
        raise CostModelError(f"expected one Lambda behind the ALB, found {[f.name for f in found]}")
    return found[0]


def per_million(resources: list[GraphResource], prices: PriceBook, measured: Measured) -> RequestCost:
    graph = Graph([r for r in resources if r.custom])
    fn = api_function(graph)
    memory_mb = int(fn.inputs.get("memorySize", 128))
    route = measured.heaviest
    step = prices.rule("lambda_billing_granularity_ms")
    billed_ms = math.ceil(route.median_ms / step) * step
    gb_seconds = MILLION * billed_ms / 1000 * memory_mb / 1024
    tracing = (fn.inputs.get("tracingConfig") or {}).get("mode") == "Active"
    per_lcu = prices.rule("alb_new_connections_per_lcu") * 3600
    lines = [
        RequestLine("Lambda requests", prices["lambda_request_million"].usd, "per invocation"),
        RequestLine(
            "Lambda duration",
            gb_seconds * prices[lambda_gb_seconds_price(fn)].usd,
            f"{billed_ms:g} ms billed x {memory_mb} MB ({gb_seconds:,.0f} GB-s)",
        ),
        RequestLine("API Gateway REST", prices["apigateway_rest_request_million"].usd, "per request", "api gateway"),
        RequestLine(
            "ALB capacity",
            MILLION / per_lcu * prices["alb_lcu_hour"].usd,
            f"upper bound: one new connection per request, {per_lcu:,.0f} per LCU-hour",
            "alb",
        ),
        RequestLine(
            "DynamoDB on-demand",
            route.dynamo_requests * prices["dynamodb_write_request_million"].usd,
            f"{route.dynamo_requests} requests per call, priced as writes (the dearer kind)",
        ),
    ]
    if tracing:
        lines.append(
            RequestLine(
                "X-Ray traces",
                prices["xray_trace_recorded_million"].usd,
                "upper bound: at 1 M a month (0.4/s) the default rule's 1/s reservoir records every request",
            )
        )
    return RequestCost(fn.inputs.get("name", fn.name), memory_mb, route.median_ms, lines)
