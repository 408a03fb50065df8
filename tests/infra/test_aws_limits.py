"""AWS rules the mocks cannot see: name limits, nested timeouts, throttles, lifecycle, implicit logs.

Each test here is named in ARCHITECTURE.md's "AWS rules we rely on" table (and a test there
checks that every test the table names exists). Sources are cited in that table.
"""

from __future__ import annotations

import functools
import re

import pytest

from infra import replacement
from infra.settings import (
    API_GATEWAY_INTEGRATION_TIMEOUT_MS,
    LAMBDA_UNRESERVED_MINIMUM,
    MAX_SUFFIX_LENGTH,
    PROFILES,
    SettingsError,
)
from tests.infra.harness import STACKS, Program, Resource, run_program
from tests.infra.test_replacement import fixed_names

# The longest suffix settings accept, shaped like a review stack's (pr-<number>).
LONGEST_SUFFIX = ("pr-" + "1234567890123456789")[:MAX_SUFFIX_LENGTH]

_RDS_ID = r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*"  # letter first, no trailing or double hyphen
# type token -> (max length, pattern) of its physical name; the AWS API references are cited in
# ARCHITECTURE.md ("AWS rules we rely on"). Types not listed get GENERIC_LIMIT.
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "aws:lb/loadBalancer:LoadBalancer": (32, r"(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    "aws:lb/targetGroup:TargetGroup": (32, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"),
    "aws:lambda/function:Function": (64, r"[A-Za-z0-9_-]+"),
    "aws:iam/role:Role": (64, r"[\w+=,.@-]+"),
    "aws:iam/policy:Policy": (128, r"[\w+=,.@-]+"),
    "aws:s3/bucket:Bucket": (63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    "aws:s3/bucketV2:BucketV2": (63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    "aws:cloudwatch/logGroup:LogGroup": (512, r"[._/#A-Za-z0-9-]+"),
    "aws:dynamodb/table:Table": (255, r"[A-Za-z0-9_.-]{3,}"),
    "aws:rds/cluster:Cluster": (63, _RDS_ID),
    "aws:rds/clusterInstance:ClusterInstance": (63, _RDS_ID),
    "aws:rds/proxy:Proxy": (63, _RDS_ID),
    "aws:rds/proxyEndpoint:ProxyEndpoint": (63, _RDS_ID),
    "aws:rds/subnetGroup:SubnetGroup": (255, r"(?!default$)[a-z0-9 ._-]+"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": (255, _RDS_ID),
    "aws:sns/topic:Topic": (256, r"[A-Za-z0-9_-]+"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (255, r"[^\x00-\x1f]+"),
    "aws:cloudwatch/dashboard:Dashboard": (255, r"[A-Za-z0-9_-]+"),
    "aws:kms/alias:Alias": (256, r"alias/(?!aws/)[A-Za-z0-9/_-]+"),
    "aws:ecr/repository:Repository": (256, r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"),
    "aws:backup/vault:Vault": (50, r"[A-Za-z0-9_-]{2,}"),
    "aws:backup/plan:Plan": (50, r"[A-Za-z0-9_.-]+"),
    "aws:backup/selection:Selection": (50, r"[A-Za-z0-9_.-]+"),
    "aws:appautoscaling/policy:Policy": (256, r"[^:/]+"),
    "aws:apigateway/stage:Stage": (128, r"[A-Za-z0-9_-]+"),
    "aws:apigateway/model:Model": (255, r"[A-Za-z0-9]+"),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": (128, r"[A-Za-z0-9_-]+"),
    "aws:cloudfront/originAccessControl:OriginAccessControl": (64, r"[A-Za-z0-9_.-]+"),
    "aws:cloudfront/cachePolicy:CachePolicy": (128, r"[A-Za-z0-9_-]+"),
    "aws:wafv2/webAcl:WebAcl": (128, r"[\w-]+"),
    "aws:ec2/securityGroup:SecurityGroup": (255, r"(?!sg-)[\w .:/()#,@\[\]+=&;{}!$*-]+"),
    "aws:secretsmanager/secret:Secret": (512, r"[\w/+=.@-]+"),
    "aws:ssm/parameter:Parameter": (2048, r"[A-Za-z0-9_./-]+"),
    # EventBridge (API reference: CreateEventBus, CreateArchive, PutRule; Schemas: CreateRegistry,
    # CreateSchema), SQS (CreateQueue: 80, letters, digits, - and _), Scheduler (CreateSchedule: 64).
    "aws:cloudwatch/eventBus:EventBus": (256, r"[/\.\-_A-Za-z0-9]+"),
    "aws:cloudwatch/eventArchive:EventArchive": (48, r"[\.\-_A-Za-z0-9]+"),
    "aws:cloudwatch/eventRule:EventRule": (64, r"[\.\-_A-Za-z0-9]+"),
    "aws:schemas/registry:Registry": (64, r"[\.\-_A-Za-z@]+[\.\-_A-Za-z0-9@]*"),
    "aws:schemas/schema:Schema": (385, r"[\.\-_A-Za-z@]+[\.\-_A-Za-z0-9@]*"),
    "aws:sqs/queue:Queue": (80, r"[A-Za-z0-9_-]+"),
    "aws:scheduler/schedule:Schedule": (64, r"[0-9a-zA-Z-_.]+"),
}
# A type nobody listed yet: a conservative limit most AWS names admit (add a row when you know better).
GENERIC_LIMIT = (64, r"[A-Za-z0-9_./-]+")
# What AWS appends to a namePrefix (the provider's unique id: 26 characters).
PREFIX_SUFFIX_LENGTH = 26


@functools.cache
def longest(stack: str) -> Program:
    return run_program(stack, {"environmentSuffix": LONGEST_SUFFIX})


def physical_names(program: Program, resource: Resource) -> list[str]:
    names = [v for v in fixed_names(program, resource).values() if isinstance(v, str)]
    prefix = resource.inputs.get("namePrefix")
    if isinstance(prefix, str):
        names.append(prefix + "x" * PREFIX_SUFFIX_LENGTH)
    return names


@pytest.mark.parametrize("stack", STACKS)
def test_every_physical_name_fits_aws_limits_with_the_longest_suffix(stack: str) -> None:
    program = longest(stack)
    assert program.outputs["environmentSuffix"] == LONGEST_SUFFIX
    judged = 0
    for resource in program:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        for name in physical_names(program, resource):
            judged += 1
            limit, pattern = NAME_LIMITS.get(resource.type, GENERIC_LIMIT)
            assert len(name) <= limit, f"{resource.type} {resource.name}: {name!r} is over {limit} characters"
            assert re.fullmatch(pattern, name), f"{resource.type} {resource.name}: {name!r} breaks {pattern}"
    assert judged >= 30


def test_target_group_prefix_fits_the_providers_limit() -> None:
    for stack in STACKS:
        (group,) = longest(stack).of_type("aws:lb/targetGroup:TargetGroup")
        assert len(group.inputs["namePrefix"]) <= replacement.PREFIXED[group.type]


@pytest.mark.parametrize("suffix", ["pr-12345-", "pr--12345", "a" * (MAX_SUFFIX_LENGTH + 1), "PR-1", "1pr"])
def test_a_suffix_aws_would_refuse_fails_before_anything_is_created(suffix: str) -> None:
    with pytest.raises(SettingsError, match="environmentSuffix"):
        run_program("dev", {"environmentSuffix": suffix})


# --------------------------------------------------------------------------- timeouts


def _function_timeout(program: Program) -> int:
    timeout: int = program.one("aws:lambda/function:Function", "api").inputs["timeout"]
    return timeout


def test_api_gateway_integrations_outlast_the_function(program: Program) -> None:
    """API Gateway (REST) gives up after 29 s: the function must end (and roll back) before that."""
    timeout_ms = _function_timeout(program) * 1000
    proxies = [i for i in program.of_type("aws:apigateway/integration:Integration") if i.inputs["type"] == "AWS_PROXY"]
    assert proxies
    for integration in proxies:
        assert integration.inputs["timeoutMilliseconds"] == API_GATEWAY_INTEGRATION_TIMEOUT_MS
        assert 50 <= integration.inputs["timeoutMilliseconds"] <= 29_000
        assert timeout_ms < integration.inputs["timeoutMilliseconds"], integration.name


def test_a_function_timeout_at_the_gateways_limit_is_refused() -> None:
    with pytest.raises(SettingsError, match="lambdaTimeoutSeconds = 29"):
        run_program("dev", {"lambdaTimeoutSeconds": "29"})


def test_cloudfront_and_the_alb_wait_at_least_as_long_as_the_function(program: Program) -> None:
    """CloudFront's origin read timeout (1-60 s without a quota increase) >= the function's timeout;
    the ALB's idle timeout >= both, and > CloudFront's origin keep-alive (or the ALB closes
    connections CloudFront reuses: 502s)."""
    function_timeout = _function_timeout(program)
    alb = program.one("aws:lb/loadBalancer:LoadBalancer")
    idle = alb.inputs.get("idleTimeout", 60)
    distribution = program.one("aws:cloudfront/distribution:Distribution")
    # The ALB origin is a VPC origin (vpcOriginConfig); a custom origin would carry the same timeout.
    custom = [
        o.get("vpcOriginConfig") or o["customOriginConfig"]
        for o in distribution.inputs["origins"]
        if o.get("vpcOriginConfig") or o.get("customOriginConfig")
    ]
    assert custom
    for config in custom:
        read = config.get("originReadTimeout", 30)
        assert function_timeout <= read <= 60
        assert read <= idle
        assert config.get("originKeepaliveTimeout", 5) < idle
    assert function_timeout <= idle <= 4000


# --------------------------------------------------------------------------- throttles


# API Gateway's default account-level throttle per region (requests per second, burst).
ACCOUNT_RATE, ACCOUNT_BURST = 10_000, 5_000


def test_stage_throttle_fits_the_account_quota_and_reserved_concurrency(program: Program) -> None:
    profile = PROFILES[program.stack]
    (settings,) = [m.inputs["settings"] for m in program.of_type("aws:apigateway/methodSettings:MethodSettings")]
    rate, burst = settings["throttlingRateLimit"], settings["throttlingBurstLimit"]
    assert rate <= ACCOUNT_RATE and burst <= ACCOUNT_BURST
    # What the function can serve at the budgeted duration (settings.validate_profile refuses more).
    reserved = program.one("aws:lambda/function:Function", "api").inputs.get("reservedConcurrentExecutions", -1)
    concurrency = reserved if reserved >= 0 else LAMBDA_UNRESERVED_MINIMUM
    assert rate <= concurrency * 1000 // profile.handler_duration_budget_ms == profile.throttle_capacity_rps
    assert burst <= rate


# --------------------------------------------------------------------------- lifecycle


# Minimum storage duration (days) S3 bills for; IA classes also refuse a transition before day 30.
MIN_STORAGE_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90, "DEEP_ARCHIVE": 180}


def _chain_respects_minimums(transitions: list[tuple[int, str]], end: int | None, what: str) -> None:
    ordered = sorted(transitions)
    for i, (day, storage_class) in enumerate(ordered):
        if storage_class in ("STANDARD_IA", "ONEZONE_IA"):
            assert day >= 30, f"{what}: {storage_class} before day 30 is refused"
        leaves = ordered[i + 1][0] if i + 1 < len(ordered) else end
        if leaves is not None:
            stay = leaves - day
            assert stay >= MIN_STORAGE_DAYS.get(storage_class, 0), (
                f"{what}: {stay} days in {storage_class} is billed as {MIN_STORAGE_DAYS[storage_class]}"
            )


def test_lifecycle_rules_respect_storage_class_minimums(program: Program) -> None:
    configs = program.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert configs
    for config in configs:
        for rule in config.inputs["rules"]:
            what = f"{config.name}/{rule['id']}"
            transitions = [(t["days"], t["storageClass"]) for t in rule.get("transitions") or []]
            _chain_respects_minimums(transitions, (rule.get("expiration") or {}).get("days"), what)
            older = rule.get("noncurrentVersionTransitions") or []
            noncurrent = [(t["noncurrentDays"], t["storageClass"]) for t in older]
            end = (rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays")
            _chain_respects_minimums(noncurrent, end, what + " (noncurrent)")


def test_the_storage_class_check_catches_the_seeds_glacier_step() -> None:
    with pytest.raises(AssertionError, match="billed as 90"):
        _chain_respects_minimums([(30, "STANDARD_IA"), (60, "GLACIER")], 90, "seed")


# --------------------------------------------------------------------------- implicit log groups


def test_log_groups_aws_would_create_never_expiring_are_owned(program: Program) -> None:
    """Lambda writes to /aws/lambda/<function>, API Gateway to API-Gateway-Execution-Logs_<api>/<stage>:
    left to AWS they never expire; declared here they keep the profile's retention and key."""
    profile = PROFILES[program.stack]
    groups = {g.inputs["name"]: g for g in program.of_type("aws:cloudwatch/logGroup:LogGroup")}
    edge = {f.name for f in program.of_type("aws:lambda/function:Function") if f.provider and "us-east-1" in f.provider}
    for function in program.of_type("aws:lambda/function:Function"):
        if function.name in edge:
            continue  # Lambda@Edge logs in each edge region (/aws/lambda/us-east-1.<name>): see ARCHITECTURE
        group = groups.get(f"/aws/lambda/{function.inputs['name']}")
        assert group is not None, function.name
        assert group.inputs["retentionInDays"] > 0
    rest_api = program.one("aws:apigateway/restApi:RestApi")
    stage = program.one("aws:apigateway/stage:Stage")
    execution = groups[f"API-Gateway-Execution-Logs_{rest_api.id}/{stage.inputs['stageName']}"]
    assert execution.inputs["retentionInDays"] == profile.log_retention_days
    assert execution.inputs["kmsKeyId"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
    (method_settings,) = program.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert method_settings.inputs["settings"]["loggingLevel"] != "OFF"
    assert execution.urn in method_settings.dependencies
