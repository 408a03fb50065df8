"""Plain-text and Markdown renderings of an estimate."""

from __future__ import annotations

from infra.cost import StackCost
from infra.cost.model import FREE_AT_REST, Estimate

# The summary rows of ARCHITECTURE.md, in order: group -> label.
GROUPS = {
    "aurora": "Aurora Serverless v2 compute",
    "rds proxy": "RDS Proxy",
    "nat": "NAT gateways and their Elastic IPs",
    "load balancer": "ALB hours and public IPv4",
    "public ipv4": "other Elastic IPs",
    "endpoints": "interface VPC endpoints",
    "dynamodb": "DynamoDB provisioned capacity",
    "health checks": "ALB health checks (Lambda, X-Ray)",
    "monitoring": "CloudWatch alarms and dashboard",
    "events": "events and e-mail (SQS polling)",
    "other": "KMS, Secrets Manager, WAF, cache",
    "storage": "storage and logs (usage)",
}


def money(value: float) -> str:
    return f"${value:,.2f}"


def unit_price(value: float) -> str:
    whole, _, decimals = f"{value:.10f}".rstrip("0").partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def quantity(value: float) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text or "0"


def text(cost: StackCost, show_free: bool = False) -> str:
    idle, req = cost.idle, cost.requests
    out = [f"{cost.stack} ({idle.region}): monthly cost at rest, 730 h, no traffic"]
    width = max(len(line.item) for line in idle.lines)
    out.append(f"  {'resource':<{width}}  {'quantity':>26}  {'unit price':>13}  {'monthly':>10}  why")
    for line in sorted(idle.lines, key=lambda li: (-li.monthly, li.item)):
        qty = f"{quantity(line.quantity)} {line.unit}"
        price = unit_price(line.unit_price)
        out.append(f"  {line.item:<{width}}  {qty:>26}  {price:>13}  {money(line.monthly):>10}  {line.note}")
    out.append(f"  {'total':<{width}}  {'':>26}  {'':>13}  {money(idle.total):>10}")
    count = sum(idle.free.values())
    out.append(f"  free at rest, not listed: {count} resources of {len(idle.free)} types (--free lists them)")
    if show_free:
        for token, n in sorted(idle.free.items()):
            out.append(f"    {n:3d} x {token}: {FREE_AT_REST[token]}")
    out.append(
        f"cost per million API requests: {req.function} at {req.memory_mb} MB, {req.duration_ms:g} ms "
        "(heaviest route's median, bench/results/warm.json)"
    )
    for r in req.lines:
        path = "" if r.path == "both" else f" [{r.path} only]"
        out.append(f"  {r.item + path:<34} {money(r.per_million):>8}  {r.note}")
    out.append(f"  {'via API Gateway':<34} {money(req.total('api gateway')):>8}")
    out.append(
        f"  {'via CloudFront -> ALB':<34} {money(req.total('alb')):>8}  (CloudFront's own request fee not included)"
    )
    return "\n".join(out)


def summary_rows(idle: Estimate) -> list[tuple[str, float]]:
    groups = idle.by_group()
    return [(label, groups[key]) for key, label in GROUPS.items() if round(groups.get(key, 0.0), 2) > 0]


def markdown(costs: list[StackCost]) -> str:
    """One table per stack: the idle total and its main lines (checked by tests/infra/test_cost.py)."""
    blocks = []
    for cost in costs:
        rows = [f"**{cost.stack}** ({cost.idle.region}): **{money(cost.idle.total)} a month** at rest", ""]
        rows += ["| line | monthly |", "| --- | ---: |"]
        rows += [f"| {label} | {money(value)} |" for label, value in summary_rows(cost.idle)]
        rows.append(f"| **total** | **{money(cost.idle.total)}** |")
        rows.append("")
        req = cost.requests
        rows.append(
            f"Per million API requests ({req.memory_mb} MB, {req.duration_ms:g} ms): "
            f"{money(req.total('api gateway'))} through API Gateway, {money(req.total('alb'))} through the ALB."
        )
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)
