"""Stack settings: profiles per environment, and clear failures on bad config."""

from __future__ import annotations

import pytest

from infra.settings import LAMBDA_UNRESERVED_MINIMUM, PROFILES, SettingsError, is_reserved_email_domain
from shop.declarations import FUNCTION_TIMEOUT_SECONDS
from tests.infra.harness import STACKS, Program, run_program

# The regional concurrency quota most accounts have (new accounts often start at 10 or 50).
USUAL_CONCURRENCY_QUOTA = 1_000


def test_every_stack_file_selects_its_own_profile(program: Program) -> None:
    assert program.outputs["environment"] == program.stack
    assert program.outputs["environmentSuffix"] == program.stack
    assert program.outputs["region"] == program.config["aws:region"]


@pytest.mark.parametrize(
    ("env", "read", "write"),
    # Prod's floor is 10 (was the seed's 50): autoscaling raises it (ARCHITECTURE, "what each saving trades").
    [("dev", 5, 5), ("staging", 10, 10), ("prod", 10, 10)],
)
def test_dynamodb_capacity_floor_from_the_seeds(env: str, read: int, write: int) -> None:
    profile = PROFILES[env]
    assert (profile.dynamo_read_capacity, profile.dynamo_write_capacity) == (read, write)
    assert profile.dynamo_max_read_capacity >= read and profile.dynamo_max_write_capacity >= write


def test_profile_sizes() -> None:
    assert PROFILES["dev"].nat_gateways == 1
    assert PROFILES["prod"].nat_gateways == 3
    assert PROFILES["dev"].lambda_reserved_concurrency == 10
    for env in STACKS:
        assert PROFILES[env].lambda_memory_mb == 3072
        # Below API Gateway's 29 s integration timeout (the seed's 30 would outlive it).
        assert PROFILES[env].lambda_timeout_seconds == FUNCTION_TIMEOUT_SECONDS == 28
    for env in ("staging", "prod"):
        assert PROFILES[env].aurora_readers == 2
    assert PROFILES["prod"].api_rate_limit == 10_000
    assert PROFILES["prod"].api_burst_limit == 5_000
    assert PROFILES["prod"].protect_data and not PROFILES["dev"].protect_data


@pytest.mark.parametrize("env", STACKS)
def test_throttle_never_promises_more_than_concurrency_can_serve(env: str) -> None:
    p = PROFILES[env]
    # rps a function can serve = concurrent executions / seconds per request
    concurrency = p.lambda_reserved_concurrency or LAMBDA_UNRESERVED_MINIMUM
    assert p.api_rate_limit <= concurrency / (p.handler_duration_budget_ms / 1000)
    assert p.api_burst_limit <= p.api_rate_limit


def test_environment_suffix_defaults_to_the_stack_and_can_be_set() -> None:
    program = run_program("dev", {"environmentSuffix": "pr-123"})
    assert program.outputs["environmentSuffix"] == "pr-123"
    key = program.one("aws:kms/key:Key", "data")
    assert key.inputs["tags"]["Name"] == "ecommerce-data-pr-123"


def test_profile_values_can_be_overridden_per_stack() -> None:
    defaults = PROFILES["dev"]
    overrides = {
        "dynamoBillingMode": "PROVISIONED",
        "dynamoReadCapacity": 7,
        "lambdaMemoryMb": 2048,
        "logRetentionDays": 14,
        "auroraMaxAcu": 8,
    }
    # Each override differs from the profile's default, so a program that ignored it would fail below.
    assert (defaults.dynamo_read_capacity, defaults.lambda_memory_mb, defaults.log_retention_days) != (7, 2048, 14)
    assert defaults.aurora_max_acu != 8
    program = run_program("dev", {key: str(value) for key, value in overrides.items()})
    assert program.outputs["environment"] == "dev"
    tables = program.of_type("aws:dynamodb/table:Table")
    assert tables and {t["readCapacity"] for t in tables} == {7}
    # Values the override does not name keep the profile's default.
    assert {t["writeCapacity"] for t in tables} == {defaults.dynamo_write_capacity}
    assert program.one("aws:lambda/function:Function", "api")["memorySize"] == 2048
    groups = program.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and {g["retentionInDays"] for g in groups} == {14}
    cluster = program.one("aws:rds/cluster:Cluster")
    assert cluster["serverlessv2ScalingConfiguration"]["maxCapacity"] == 8


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"environment": "qa"}, "ecommerce:environment = 'qa' is not valid; allowed values: dev, staging, prod"),
        ({"environment": None}, "ecommerce:environment = '<unset>' is not valid; allowed values: dev, staging, prod"),
        ({"dynamoReadCapacity": "0"}, "ecommerce:dynamoReadCapacity = 0 is below the minimum of 1"),
        ({"lambdaReservedConcurrency": "ten"}, "ecommerce:lambdaReservedConcurrency = 'ten' is not an int or 'none'"),
        ({"lambdaReservedConcurrency": "0"}, "lambdaReservedConcurrency = 0 is below the minimum of 1"),
        ({"lambdaReservedConcurrency": "-1"}, "pulumi config set lambdaReservedConcurrency none"),
        # No reservation: the throttle is sized for the unreserved minimum (100 at 80 ms: 1,250 rps).
        ({"lambdaReservedConcurrency": "none"}, "apiRateLimit = 10000 rps exceeds what lambdaReservedConcurrency"),
        ({"alarmEmail": None}, "ecommerce:alarmEmail is required for a prod stack"),
        ({"alarmEmail": "oncall@example.com"}, "'oncall@example.com' is at a reserved example domain"),
        ({"alarmEmail": "ops@alerts.example.org"}, "is at a reserved example domain"),
        ({"alarmEmail": "ops@pager.test"}, "is at a reserved example domain"),
        ({"alarmEmail": "oncall-at-example"}, "ecommerce:alarmEmail = 'oncall-at-example' is not an e-mail address"),
        ({"senderEmail": None}, "ecommerce:senderEmail is required (customer e-mails are sent from it)"),
        ({"senderEmail": "orders@example.com"}, "ecommerce:senderEmail = 'orders@example.com' is at a reserved"),
        ({"senderEmail": "orders"}, "ecommerce:senderEmail = 'orders' is not an e-mail address"),
        ({"environmentSuffix": "PR_1"}, "ecommerce:environmentSuffix = 'PR_1' is not valid"),
        ({"dynamoBillingMode": "ON_DEMAND"}, "allowed values: PROVISIONED, PAY_PER_REQUEST"),
        ({"logRetentionDays": "10"}, "ecommerce:logRetentionDays = 10; allowed values: 1, 3, 5, 7"),
        ({"natGateways": "4"}, "ecommerce:natGateways = 4; allowed values: 1, 2, 3"),
        ({"apiRateLimit": "100000"}, "ecommerce:apiRateLimit = 100000 rps exceeds"),
        ({"aws:region": None}, "config aws:region is required"),
        ({"domainName": "shop.example.com"}, "ecommerce:domainName requires ecommerce:certificateArn"),
        ({"auroraMinAcu": "0", "rdsProxy": "true"}, "ecommerce:auroraMinAcu = 0 needs ecommerce:rdsProxy = false"),
        ({"drCopy": "true", "awsBackup": "false"}, "ecommerce:drCopy = true needs ecommerce:awsBackup = true"),
    ],
)
def test_bad_config_fails_naming_the_key_and_allowed_values(overrides: dict[str, str | None], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        run_program("prod", overrides)
    assert message in str(error.value)


def test_the_usual_quota_holds_prod_staging_and_a_dev_copy_in_one_region() -> None:
    # Lambda refuses a reservation that leaves fewer than 100 unreserved concurrent executions.
    reserved = sum(PROFILES[env].lambda_reserved_concurrency or 0 for env in STACKS)
    assert USUAL_CONCURRENCY_QUOTA - reserved >= LAMBDA_UNRESERVED_MINIMUM
    assert PROFILES["dev"].lambda_reserved_concurrency == 10
    assert PROFILES["staging"].lambda_reserved_concurrency is None


@pytest.mark.parametrize(("value", "expected"), [("none", None), ("None", None), ("25", 25)])
def test_reserved_concurrency_takes_a_number_or_none(value: str, expected: int | None) -> None:
    program = run_program("dev", {"lambdaReservedConcurrency": value})
    fn = program.one("aws:lambda/function:Function", name="api")
    # pulumi-aws: -1 removes the function's reservation (it is also the provider's default).
    assert fn.get("reservedConcurrentExecutions", -1) == (-1 if expected is None else expected)


@pytest.mark.parametrize(
    ("address", "reserved"),
    [
        ("oncall@example.com", True),
        ("oncall@EXAMPLE.COM", True),
        ("oncall@pager.example.net", True),
        ("a@b.example", True),
        ("a@b.invalid", True),
        ("a@shop.test", True),
        ("oncall@example.company.com", False),
        ("oncall@myexample.com", False),
        ("oncall@shop-operations.net", False),
    ],
)
def test_reserved_example_domains(address: str, reserved: bool) -> None:
    assert is_reserved_email_domain(address) is reserved


def test_staging_and_dev_may_keep_an_example_address() -> None:
    program = run_program("staging", {"alarmEmail": "team@example.com"})
    (subscription,) = program.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription["endpoint"] == "team@example.com"


def test_the_committed_prod_stack_file_holds_no_example_address() -> None:
    from infra.stack_config import read_stack_config

    values, _ = read_stack_config("prod", lambda key: "secret")
    assert "ecommerce:alarmEmail" not in values or not is_reserved_email_domain(values["ecommerce:alarmEmail"])
