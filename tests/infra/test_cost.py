"""The cost model follows the program's resource graph, and its prices have sources.

Each "moves the total" test changes the profile through config overrides, runs the real program
again under the mocks and checks that the idle total moves by exactly the changed resource's price.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path
from typing import Any

import pytest

from infra.cost import StackCost, estimate, estimate_stack, prices, report
from infra.cost.__main__ import main
from infra.cost.model import FREE_AT_REST, PRICED, UnpricedTypesError, unpriced_types
from tests.infra.conftest import program_for
from tests.infra.harness import STACKS, Program, Resource

ROOT = Path(__file__).resolve().parents[2]
HOURS = 730
WEST = prices.load("us-west-2")


def usd(key: str) -> float:
    return WEST[key].usd


def cost_of(program: Program) -> StackCost:
    return estimate(list(program.resources), str(program.config["aws:region"]), program.stack)


def total(stack: str, overrides: dict[str, Any] | None = None) -> float:
    if not overrides:
        return cost_of(program_for(stack)).idle.total
    return estimate_stack(stack, overrides).idle.total


def lines_named(cost: StackCost, fragment: str) -> list[float]:
    return [line.monthly for line in cost.idle.lines if fragment in line.item]


def edited(program: Program, token: str, name: str, **inputs: Any) -> list[Resource]:
    """The program's resources with one resource's inputs changed."""
    out = []
    for r in program.resources:
        if r.type == token and r.name == name:
            r = dataclasses.replace(r, inputs={**r.inputs, **inputs})
        out.append(r)
    return out


def fake(token: str, logical: str, **inputs: Any) -> Resource:
    return Resource(
        type=token,
        name=logical,
        urn=f"urn:fake::{logical}",
        inputs=inputs,
        outputs={},
        parent=None,
        provider=None,
        custom=True,
    )


# --------------------------------------------------------------------------- every type accounted for


def test_every_resource_type_is_priced_or_known_free(program: Program) -> None:
    assert unpriced_types(program.resources) == []
    assert not set(PRICED) & set(FREE_AT_REST), "a type is either priced or free at rest, not both"


def test_a_type_in_neither_table_is_an_error_not_a_zero(dev: Program) -> None:
    resources = [*dev.resources, fake("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "pc")]
    with pytest.raises(UnpricedTypesError, match="provisionedConcurrencyConfig"):
        estimate(resources, "us-west-2", "dev")


# --------------------------------------------------------------------------- the model follows the graph


def test_one_more_nat_gateway_adds_one_nat_hour_and_its_ipv4_address() -> None:
    delta = total("staging") - total("staging", {"natGateways": 2})
    assert delta == pytest.approx(HOURS * (usd("nat_gateway_hour") + usd("public_ipv4_hour")))


def test_dev_nat_instance_costs_its_hours_volume_and_address_instead_of_a_nat_gateway() -> None:
    delta = total("dev", {"egress": "nat_gateway"}) - total("dev")
    gateway = HOURS * (usd("nat_gateway_hour") + usd("public_ipv4_hour"))
    instance = HOURS * (usd("ec2_t4g_nano_hour") + usd("public_ipv4_hour")) + 8 * usd("ebs_gp3_gb_month")
    assert delta == pytest.approx(gateway - instance)
    lines = lines_named(cost_of(program_for("dev")), "EC2 t4g.nano")
    assert lines == [pytest.approx(HOURS * usd("ec2_t4g_nano_hour"))]


def test_secrets_interface_endpoints_cost_two_services_in_three_azs() -> None:
    delta = total("staging", {"secretsEndpoints": "true"}) - total("staging")
    assert delta == pytest.approx(2 * 3 * HOURS * usd("vpc_interface_endpoint_az_hour"))


def test_the_web_acl_is_priced_where_the_profile_has_one(program: Program) -> None:
    from infra.settings import PROFILES

    estimate_ = cost_of(program)
    acl = lines_named(estimate_, "WAF web ACL")
    rules = lines_named(estimate_, "WAF rules")
    if not PROFILES[program.stack].waf:
        assert acl == [] and rules == []
        return
    assert acl == [pytest.approx(usd("waf_web_acl_month"))]
    # The rate rule and three managed rule groups.
    assert rules == [pytest.approx(4 * usd("waf_rule_month"))]


def test_a_reader_adds_its_minimum_capacity() -> None:
    delta = total("staging", {"auroraReaders": 3}) - total("staging")
    # 0.5 ACU around the clock; the proxy stays at its 8 ACU minimum (2 ACU of targets).
    assert delta == pytest.approx(0.5 * HOURS * usd("aurora_acu_hour"))


def test_the_proxy_charge_follows_the_targets_once_above_its_minimum() -> None:
    # 3 instances at 2 ACU = 6 ACU, billed as 8. Four instances reach 8 (proxy unchanged); five, 10.
    at_two = {"auroraMinAcu": 2.0}
    three = total("prod", at_two)
    four, five = total("prod", {**at_two, "auroraReaders": 3}), total("prod", {**at_two, "auroraReaders": 4})
    instance = 2 * HOURS * usd("aurora_acu_hour")
    assert four - three == pytest.approx(instance)
    assert five - four == pytest.approx(instance + 2 * HOURS * usd("rds_proxy_acu_hour"))


def test_on_demand_tables_cost_nothing_at_rest() -> None:
    provisioned = cost_of(program_for("staging"))
    on_demand = estimate_stack("staging", {"dynamoBillingMode": "PAY_PER_REQUEST"})
    tables = len(program_for("staging").of_type("aws:dynamodb/table:Table"))
    per_table = 10 * HOURS * (usd("dynamodb_wcu_hour") + usd("dynamodb_rcu_hour"))
    assert provisioned.idle.total - on_demand.idle.total == pytest.approx(tables * per_table)
    assert sum(lines_named(on_demand, "DynamoDB")) == 0


def test_table_capacity_is_priced_at_the_autoscaling_minimum() -> None:
    delta = total("staging", {"dynamoReadCapacity": 12, "dynamoWriteCapacity": 14}) - total("staging")
    tables = 3
    assert delta == pytest.approx(tables * HOURS * (4 * usd("dynamodb_wcu_hour") + 2 * usd("dynamodb_rcu_hour")))


def test_autoscaling_minimum_not_table_capacity_sets_the_price(staging: Program) -> None:
    # Autoscaling owns a provisioned table's capacity: what it may scale down to is what idles.
    raised = edited(staging, "aws:appautoscaling/target:Target", "sessions-read", minCapacity=20)
    delta = estimate(raised, "us-west-2", "staging").idle.total - cost_of(staging).idle.total
    assert delta == pytest.approx(10 * HOURS * usd("dynamodb_rcu_hour"))


def test_health_checks_follow_the_target_groups_interval(dev: Program) -> None:
    # Without the stack's sampling rule the default one traces every check (0.05/s < 1/s reservoir).
    unsampled = [r for r in dev.resources if r.type != "aws:xray/samplingRule:SamplingRule"]
    base = estimate(unsampled, "us-west-2", "dev")
    checks = 3 * HOURS * 3600 / 60  # three ALB nodes (AZs), each every 60 s
    assert sum(lines_named(base, "X-Ray traces")) == pytest.approx(checks / 1e6 * usd("xray_trace_recorded_million"))
    health = dev.one("aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]
    slower = [
        dataclasses.replace(r, inputs={**r.inputs, "healthCheck": {**health, "interval": 300}})
        if r.type == "aws:lb/targetGroup:TargetGroup"
        else r
        for r in unsampled
    ]
    after = estimate(slower, "us-west-2", "dev")
    assert sum(lines_named(after, "health checks")) == pytest.approx(sum(lines_named(base, "health checks")) / 5)


def test_the_stacks_sampling_rule_keeps_its_health_checks_out_of_the_traces(program: Program) -> None:
    assert sum(lines_named(cost_of(program), "X-Ray traces")) == 0


# --------------------------------------------------------------------------- ready for the near-zero dev profile


def test_scale_to_zero_without_a_proxy_idles_at_zero_compute(dev: Program, staging: Program) -> None:
    # The dev profile: 0 ACU with auto-pause, no proxy, one instance.
    without = cost_of(dev)
    assert sum(lines_named(without, "Aurora Serverless v2")) == 0
    assert lines_named(without, "RDS Proxy") == []
    # The same scaling behind a proxy: its connections keep the instances from pausing (0.5 ACU).
    scaling = {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 300}
    resources = edited(staging, "aws:rds/cluster:Cluster", "aurora", serverlessv2ScalingConfiguration=scaling)
    with_proxy = estimate(resources, "us-west-2", "staging")
    assert sum(lines_named(with_proxy, "Aurora Serverless v2")) == pytest.approx(
        3 * 0.5 * HOURS * usd("aurora_acu_hour")
    )


def test_an_internal_alb_has_no_public_ipv4(dev: Program) -> None:
    public = estimate(edited(dev, "aws:lb/loadBalancer:LoadBalancer", "alb", internal=False), "us-west-2", "dev")
    assert public.idle.total - cost_of(dev).idle.total == pytest.approx(3 * HOURS * usd("public_ipv4_hour"))
    assert lines_named(cost_of(dev), "ALB ecommerce-alb-dev public IPv4") == []


def test_interface_endpoints_and_waf_are_priced(dev: Program) -> None:
    extra = [
        fake(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "ssm",
            vpcEndpointType="Interface",
            serviceName="com.amazonaws.us-west-2.ssm",
            subnetIds=["a", "b", "c"],
        ),
        fake("aws:wafv2/webAcl:WebAcl", "waf", name="ecommerce-waf-dev", rules=[{"name": "a"}, {"name": "b"}]),
    ]
    delta = estimate([*dev.resources, *extra], "us-west-2", "dev").idle.total - cost_of(dev).idle.total
    endpoint = 3 * HOURS * usd("vpc_interface_endpoint_az_hour")
    waf = usd("waf_web_acl_month") + 2 * usd("waf_rule_month")
    assert delta == pytest.approx(endpoint + waf)


def test_a_sampling_rule_keeps_health_checks_out_of_the_traces(dev: Program) -> None:
    rule = fake(
        "aws:xray/samplingRule:SamplingRule",
        "health",
        ruleName="health",
        urlPath="/api/health",
        httpMethod="GET",
        priority=1,
        reservoirSize=0,
        fixedRate=0,
    )
    after = estimate([*dev.resources, rule], "us-west-2", "dev")
    assert sum(lines_named(after, "X-Ray traces")) == 0


# --------------------------------------------------------------------------- price data


def test_every_price_has_a_region_a_date_and_an_aws_source() -> None:
    document = prices.read_document()
    assert {"us-east-1", "us-west-2"} <= set(document["regions"])
    keys = {region: set(table) for region, table in document["regions"].items()}
    assert all(k == keys["us-east-1"] for k in keys.values()), "every region prices the same things"
    entries = [e for table in document["regions"].values() for e in table.values()]
    entries += list(document["billing_rules"].values())
    for entry in entries:
        datetime.date.fromisoformat(entry["date"])
        assert re.match(r"https://(aws\.amazon\.com|docs\.aws\.amazon\.com)/", entry["source"]), entry
        assert entry["unit"]
    assert all(e["usd"] > 0 and e["checked"] for table in document["regions"].values() for e in table.values())


def test_both_regions_price_every_stack() -> None:
    for stack in STACKS:
        # prod's DR copies then go the other way.
        east = estimate_stack(stack, {"aws:region": "us-east-1", "drRegion": "us-west-2"})
        assert east.idle.region == "us-east-1" and east.idle.total > 0


def test_an_unknown_region_is_an_error_not_a_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(prices.UnknownRegionError, match="eu-central-2"):
        prices.load("eu-central-2")
    assert main(["dev", "--set", "aws:region=eu-central-2"]) == 1
    assert "no prices for region 'eu-central-2'" in capsys.readouterr().err


def test_the_command_prints_each_stack_with_a_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  total +\$[\d,]+\.\d\d$", out, re.M)
    assert "cost per million API requests" in out


# --------------------------------------------------------------------------- docs


def test_architecture_cost_tables_match_the_command(dev: Program, staging: Program, prod: Program) -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    block = re.search(r"<!-- cost-table:start -->\n(.*?)\n<!-- cost-table:end -->", text, re.S)
    assert block, "ARCHITECTURE.md has no cost table"
    expected = report.markdown([cost_of(p) for p in (dev, staging, prod)])
    assert block.group(1).strip() == expected.strip(), "regenerate with: python -m infra.cost --markdown"


def test_readme_states_each_stacks_idle_floor(dev: Program, staging: Program, prod: Program) -> None:
    readme = (ROOT / "README.md").read_text()
    for program in (dev, staging, prod):
        floor = report.money(cost_of(program).idle.total)
        assert re.search(rf"\b{program.stack}\b[^\n]*{re.escape(floor)}", readme), (program.stack, floor)
