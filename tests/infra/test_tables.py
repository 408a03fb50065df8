"""DynamoDB tables, for every stack: keys and TTL from shop.declarations, PITR,
encryption with the customer-managed key, deletion protection, capacity and
auto-scaling (or none, on demand), and the exports."""

from __future__ import annotations

import pytest

import infra.components.tables as tables_module
from infra.settings import PROFILES
from shop.declarations import TABLES, Attribute, Env, GlobalIndex, TableSpec
from tests.infra.harness import Program, Resource, run_program

TABLE = "aws:dynamodb/table:Table"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
# The minimum provisioned capacity (read = write) per stack.
# Staging and prod keep provisioned capacity with autoscaling (the Python seed); prod's floor is 10
# (autoscaling raises it within minutes, burst capacity covers the gap). Dev is on-demand.
MIN_CAPACITY = {"dev": 5, "staging": 10, "prod": 10}


def table(program: Program, spec: TableSpec) -> Resource:
    return program.one(TABLE, spec.logical)


def key_arn(program: Program) -> str:
    return str(program.one("aws:kms/key:Key", "data").outputs["arn"])


def test_every_declared_table_exists_with_its_keys_and_ttl(program: Program) -> None:
    assert {t.name for t in program.of_type(TABLE)} == {s.logical for s in TABLES}
    assert {"sessions", "cache"} <= {s.logical for s in TABLES}
    for spec in TABLES:
        t = table(program, spec)
        assert t["name"] == f"ecommerce-{spec.logical}-{program.stack}"
        assert t["hashKey"] == spec.hash_key.name
        assert t.get("rangeKey") == (spec.range_key.name if spec.range_key else None)
        assert {(a["name"], a["type"]) for a in t["attributes"]} == {(a.name, a.type) for a in spec.attributes}
        if spec.ttl_attribute:
            assert t["ttl"] == {"enabled": True, "attributeName": spec.ttl_attribute}
        else:
            assert not (t.get("ttl") or {}).get("enabled")
    # Carts and cache entries expire.
    for spec in TABLES:
        if spec.logical in ("sessions", "cache"):
            assert table(program, spec)["ttl"]["enabled"] is True


def test_tables_have_pitr_and_cmk_encryption(program: Program) -> None:
    for spec in TABLES:
        t = table(program, spec)
        assert t["pointInTimeRecovery"]["enabled"] is True, spec.logical
        assert t["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn(program)}, spec.logical


def test_deletion_protection_only_in_prod(program: Program) -> None:
    prod = program.stack == "prod"
    for spec in TABLES:
        t = table(program, spec)
        assert bool(t.get("deletionProtectionEnabled")) is prod, spec.logical
        assert t.options["protect"] is prod, spec.logical


def test_dev_is_on_demand_staging_and_prod_provisioned(program: Program) -> None:
    expected = "PAY_PER_REQUEST" if program.stack == "dev" else "PROVISIONED"
    assert {table(program, spec)["billingMode"] for spec in TABLES} == {expected}
    if program.stack == "dev":
        assert program.of_type("aws:appautoscaling/target:Target") == []


def test_provisioned_capacity_starts_at_the_profile_minimum(program: Program) -> None:
    profile = PROFILES[program.stack]
    if profile.dynamo_billing_mode != "PROVISIONED":
        pytest.skip(f"{program.stack} is on-demand")
    assert profile.dynamo_read_capacity == profile.dynamo_write_capacity == MIN_CAPACITY[program.stack]
    for spec in TABLES:
        t = table(program, spec)
        assert t["billingMode"] == "PROVISIONED"
        assert t["readCapacity"] == profile.dynamo_read_capacity
        assert t["writeCapacity"] == profile.dynamo_write_capacity
        # Auto-scaling owns capacity after creation: Pulumi must not reset it.
        assert {"readCapacity", "writeCapacity"} <= set(t.options["ignoreChanges"])


def scaling_for(program: Program, resource_id: str) -> dict[str, tuple[Resource, Resource]]:
    """dimension -> (target, policy) for one table or index."""
    found = {}
    for target in program.of_type(TARGET):
        if target["resourceId"] != resource_id:
            continue
        policies = [
            p
            for p in program.of_type(POLICY)
            if (p["resourceId"], p["scalableDimension"], p["serviceNamespace"])
            == (target["resourceId"], target["scalableDimension"], target["serviceNamespace"])
        ]
        assert len(policies) == 1, f"{target.name}: {len(policies)} policies"
        found[target["scalableDimension"]] = (target, policies[0])
    return found


def assert_target_tracking(target: Resource, policy: Resource, minimum: int, maximum: int, metric: str) -> None:
    assert target["serviceNamespace"] == "dynamodb"
    assert (target["minCapacity"], target["maxCapacity"]) == (minimum, maximum)
    assert policy["policyType"] == "TargetTrackingScaling"
    config = policy["targetTrackingScalingPolicyConfiguration"]
    assert config["predefinedMetricSpecification"]["predefinedMetricType"] == metric
    assert 20 <= config["targetValue"] <= 90


def test_reads_and_writes_of_every_table_scale_between_profile_limits(program: Program) -> None:
    profile = PROFILES[program.stack]
    if profile.dynamo_billing_mode != "PROVISIONED":
        pytest.skip(f"{program.stack} is on-demand")
    for spec in TABLES:
        name = table(program, spec)["name"]
        scaling = scaling_for(program, f"table/{name}")
        assert set(scaling) == {"dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"}
        assert_target_tracking(
            *scaling["dynamodb:table:ReadCapacityUnits"],
            profile.dynamo_read_capacity,
            profile.dynamo_max_read_capacity,
            "DynamoDBReadCapacityUtilization",
        )
        assert_target_tracking(
            *scaling["dynamodb:table:WriteCapacityUnits"],
            profile.dynamo_write_capacity,
            profile.dynamo_max_write_capacity,
            "DynamoDBWriteCapacityUtilization",
        )
    assert len(program.of_type(TARGET)) == 2 * len(TABLES)


def test_on_demand_billing_has_no_capacity_and_no_autoscaling() -> None:
    program = run_program("dev", {"dynamoBillingMode": "PAY_PER_REQUEST"})
    for spec in TABLES:
        t = table(program, spec)
        assert t["billingMode"] == "PAY_PER_REQUEST"
        assert not t.get("readCapacity") and not t.get("writeCapacity")
        assert not t.options["ignoreChanges"]
        assert t["pointInTimeRecovery"]["enabled"] is True
    assert program.of_type(TARGET) == [] and program.of_type(POLICY) == []


LOOKUPS_SPEC = TableSpec(
    logical="lookups",
    env=Env.CACHE_TABLE,
    hash_key=Attribute("pk"),
    range_key=Attribute("sk", "N"),
    indexes=(GlobalIndex("by-email", Attribute("email"), Attribute("created", "N")),),
)


def test_global_indexes_get_their_keys_capacity_and_autoscaling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table with a GSI (none of today's tables has one): the index is declared
    from the spec, provisioned, and scaled like its table."""
    monkeypatch.setattr(tables_module, "TABLES", (*TABLES, LOOKUPS_SPEC))
    program = run_program("staging")
    profile = PROFILES["staging"]
    t = program.one(TABLE, "lookups")
    assert (t["hashKey"], t["rangeKey"]) == ("pk", "sk")
    assert {(a["name"], a["type"]) for a in t["attributes"]} == {
        ("pk", "S"),
        ("sk", "N"),
        ("email", "S"),
        ("created", "N"),
    }
    [index] = t["globalSecondaryIndexes"]
    assert index["name"] == "by-email" and index["projectionType"] == "ALL"
    assert [(k["attributeName"], k["keyType"]) for k in index["keySchemas"]] == [
        ("email", "HASH"),
        ("created", "RANGE"),
    ]
    assert (index["readCapacity"], index["writeCapacity"]) == (10, 10)
    assert {"globalSecondaryIndexes[*].readCapacity", "globalSecondaryIndexes[*].writeCapacity"} <= set(
        t.options["ignoreChanges"]
    )
    scaling = scaling_for(program, f"table/{t['name']}/index/by-email")
    assert set(scaling) == {"dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits"}
    assert_target_tracking(
        *scaling["dynamodb:index:ReadCapacityUnits"],
        profile.dynamo_read_capacity,
        profile.dynamo_max_read_capacity,
        "DynamoDBReadCapacityUtilization",
    )
    assert_target_tracking(
        *scaling["dynamodb:index:WriteCapacityUnits"],
        profile.dynamo_write_capacity,
        profile.dynamo_max_write_capacity,
        "DynamoDBWriteCapacityUtilization",
    )


def test_table_names_are_exported(program: Program) -> None:
    for logical, key in (
        ("sessions", "sessionsTableName"),
        ("cache", "cacheTableName"),
        ("idempotency", "idempotencyTableName"),
    ):
        assert program.outputs[key] == program.one(TABLE, logical)["name"]
