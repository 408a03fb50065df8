"""Pre-deploy checks: will ``pulumi up`` get through on this account, with this stack's settings?

``python -m infra.preflight [--stack NAME]`` (``make preflight STACK=dev``) reads the stack's
settings as the program does (``Pulumi.<stack>.yaml`` through :mod:`infra.stack_config`, then
:func:`infra.settings.load_settings`) and, with the caller's AWS credentials, asks AWS read-only
questions whose answers otherwise surface halfway through a deployment: quotas, what the region
offers, account-wide settings, certificates. It also checks the local Docker that builds the
function's image. It creates and changes nothing.

Each check prints one line: ``OK``, ``WARN`` (``pulumi up`` gets through, but something is off) or
``FAIL`` (it would not), and for a problem the exact fix. The exit status is 1 when a check fails.
No input, missing credentials, endpoint or throttling error ends in a stack trace: each becomes a
line that says what happened.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.exceptions
import pulumi
from botocore.config import Config as BotoConfig
from pulumi.runtime import settings as runtime_settings

from infra.components.database import ENGINE, ENGINE_VERSION
from infra.components.network import AZ_COUNT
from infra.settings import LAMBDA_UNRESERVED_MINIMUM, NO_RESERVATION, Settings, SettingsError, load_settings
from infra.stack_config import StackConfigError, as_pulumi_config, project_name, read_stack_config
from shop.declarations import TABLES

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sts import STSClient

Status = Literal["OK", "WARN", "FAIL", "SKIP"]
CLOUDFRONT_REGION = "us-east-1"
# Service Quotas codes (Service Quotas console, or `aws service-quotas list-service-quotas`).
LAMBDA_CONCURRENCY_QUOTA = ("lambda", "L-B99A9384")  # Concurrent executions
VPC_QUOTA = ("vpc", "L-F678F1CE", 5)  # VPCs per Region (code, AWS default)
NAT_PER_AZ_QUOTA = ("vpc", "L-FE5A380F", 5)  # NAT gateways per Availability Zone
EIP_QUOTA = ("ec2", "L-0263D0A3", 5)  # EC2-VPC Elastic IPs
DOCKER_TIMEOUT_SECONDS = 20
# Secrets in a stack file are encrypted and only the Pulumi CLI decrypts them; these stand-ins
# have the shape load_settings checks, so a present secret passes (pulumi checks its value).
SECRET_STAND_INS = {
    "storefrontCredential": "preflight:secret-not-decrypted",
    "originVerifySecret": "preflight-secret-not-decrypted-0000000000",
    "stripeSecretKey": "sk_test_preflightsecretnotdecrypted",
    "stripeWebhookSecret": "whsec_preflightsecretnotdecrypted",
}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
_EXPIRED = {
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str
    fixes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [f"[{self.status:^4}] {self.check}: {self.detail}"]
        out += [f"       fix: {fix}" for fix in self.fixes]
        return out


ClientFactory = Callable[[str, str], Any]


class AwsClients:
    """boto3 clients of one session, one per service and region, with bounded retries and timeouts."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.config = BotoConfig(connect_timeout=5, read_timeout=20, retries={"max_attempts": 4, "mode": "standard"})
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region, config=self.config)  # type: ignore[call-overload]
        return self._clients[key]


@dataclass
class Context:
    settings: Settings
    clients: ClientFactory
    # The docker executable (None: not installed), and how to run a command.
    docker: str | None = field(default_factory=lambda: shutil.which("docker"))
    run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]] = field(
        default=lambda args: subprocess.run(
            list(args), capture_output=True, text=True, timeout=DOCKER_TIMEOUT_SECONDS, check=False
        )
    )
    account: str | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.settings.region)


# --------------------------------------------------------------------------- settings


def _secret_stand_in(key: str) -> str:
    return SECRET_STAND_INS.get(key.partition(":")[2], "preflight-secret-not-decrypted")


def stack_values(stack: str, overrides: Mapping[str, str | None] | None = None) -> tuple[dict[str, Any], set[str]]:
    """The stack file's config (namespaced keys), with ``overrides`` applied (None removes a key)."""
    values, secrets = read_stack_config(stack, _secret_stand_in)
    project = project_name()
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return values, secrets


def load_stack_settings(stack: str, overrides: Mapping[str, str | None] | None = None) -> Settings:
    """The stack's :class:`Settings`, read and validated exactly as ``pulumi up`` would."""
    values, secrets = stack_values(stack, overrides)
    runtime_settings._set_project(project_name())
    runtime_settings._set_stack(stack)
    config = as_pulumi_config(values)
    pulumi.runtime.set_all_config(config, sorted(secrets & config.keys()))
    return load_settings()


# --------------------------------------------------------------------------- AWS errors


def describe_aws_error(error: Exception) -> tuple[str, tuple[str, ...]]:
    """One line for what went wrong talking to AWS, and what to do about it."""
    login = "configure credentials: `aws configure`, `aws sso login --profile NAME` or AWS_PROFILE / AWS_ACCESS_KEY_ID"
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return "no AWS credentials found", (login,)
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return f"AWS profile not found ({error})", ("check aws:profile in the stack file, or AWS_PROFILE",)
    if isinstance(error, botocore.exceptions.TokenRetrievalError | botocore.exceptions.SSOError):
        return f"the SSO session cannot give credentials ({error})", ("aws sso login --profile NAME",)
    if isinstance(error, botocore.exceptions.ClientError):
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        message = str(error.response.get("Error", {}).get("Message", "")).strip()
        operation = getattr(error, "operation_name", "the call")
        if code in _THROTTLED:
            return f"{operation} was throttled by AWS, also after retries", ("run the preflight again in a minute",)
        if code in _EXPIRED:
            return f"the credentials were refused ({code}: {message})", (login,)
        if code in _DENIED:
            return (
                f"the caller may not call {operation} ({code})",
                (f"use credentials that may call {operation} (read-only; the deploying role can)",),
            )
        return f"{operation} failed: {code}: {message}", ()
    if isinstance(
        error,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectTimeoutError
        | botocore.exceptions.ReadTimeoutError,
    ):
        return f"cannot reach AWS ({error})", ("check the network, proxy settings (HTTPS_PROXY) and aws:region",)
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS SDK error: {error}", ()
    return f"unexpected {type(error).__name__}: {error}", ()


# --------------------------------------------------------------------------- checks


def check_identity(ctx: Context) -> Result:
    sts: STSClient = ctx.client("sts")
    identity = sts.get_caller_identity()
    ctx.account = identity["Account"]
    return Result("credentials", "OK", f"account {identity['Account']} as {identity['Arn']}")


def _current_reservation(lam: LambdaClient, function_name: str) -> int:
    """The reservation this stack's function holds already (0 before the first deploy)."""
    try:
        return int(lam.get_function_concurrency(FunctionName=function_name).get("ReservedConcurrentExecutions", 0))
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return 0
        raise


def check_lambda_concurrency(ctx: Context) -> Result:
    s, profile = ctx.settings, ctx.settings.profile
    lam: LambdaClient = ctx.client("lambda")
    limits = lam.get_account_settings().get("AccountLimit", {})
    quota = int(limits.get("ConcurrentExecutions", 0))
    function = s.name("api")
    # What this function could hold: the unreserved pool plus what it reserves already.
    available = int(limits.get("UnreservedConcurrentExecutions", 0)) + _current_reservation(lam, function)
    reservation = profile.lambda_reserved_concurrency
    key = "ecommerce:lambdaReservedConcurrency"
    raise_quota = (
        "aws service-quotas request-service-quota-increase --region {region} --service-code {0} "
        "--quota-code {1} --desired-value {{value}}".format(*LAMBDA_CONCURRENCY_QUOTA, region=s.region)
    )
    if reservation is None:
        needed = math.ceil(profile.api_rate_limit * profile.handler_duration_budget_ms / 1000)
        if available < needed:
            return Result(
                "lambda concurrency",
                "WARN",
                f"{key} = {NO_RESERVATION}: the region's unreserved pool is {available} (quota {quota}), fewer than "
                f"the {needed} concurrent executions apiRateLimit = {profile.api_rate_limit} needs at "
                f"{profile.handler_duration_budget_ms} ms; Lambda throttles the excess",
                (
                    f"pulumi config set apiRateLimit {available * 1000 // profile.handler_duration_budget_ms}",
                    "or raise the quota: " + raise_quota.format(value=quota + needed - available),
                ),
            )
        return Result(
            "lambda concurrency",
            "OK",
            f"no reservation; {function} shares the unreserved pool of {available} (quota {quota})",
        )
    left = available - reservation
    if left >= LAMBDA_UNRESERVED_MINIMUM:
        return Result(
            "lambda concurrency", "OK", f"{function} reserves {reservation} of {quota}; {left} stay unreserved"
        )
    smaller = available - LAMBDA_UNRESERVED_MINIMUM
    fixes = [f"pulumi config set lambdaReservedConcurrency {NO_RESERVATION}"]
    if smaller >= 1:
        rate = smaller * 1000 // profile.handler_duration_budget_ms
        throttle = f" (and apiRateLimit at most {rate})" if profile.api_rate_limit > rate else ""
        fixes.append(f"or reserve at most {smaller}: pulumi config set lambdaReservedConcurrency {smaller}{throttle}")
    fixes.append("or raise the quota: " + raise_quota.format(value=quota + LAMBDA_UNRESERVED_MINIMUM - left))
    return Result(
        "lambda concurrency",
        "FAIL",
        f"{key} = {reservation} would leave {left} of the region's quota {quota} unreserved "
        f"({quota - available} reserved by other functions); Lambda keeps at least {LAMBDA_UNRESERVED_MINIMUM} "
        'and refuses the reservation ("decreases account\'s UnreservedConcurrentExecution below its minimum")',
        tuple(fixes),
    )


def _engine_versions(rds: RDSClient, version: str) -> list[Any]:
    engine = ENGINE.value
    if "." in version:
        return list(rds.describe_db_engine_versions(Engine=engine, EngineVersion=version).get("DBEngineVersions", []))
    # A major version only: any of its minor versions will do; AWS picks its default.
    found = rds.describe_db_engine_versions(Engine=engine).get("DBEngineVersions", [])
    return [v for v in found if v.get("MajorEngineVersion") == version]


def _offered(rds: RDSClient, major: str) -> list[str]:
    found = rds.describe_db_engine_versions(Engine=ENGINE.value).get("DBEngineVersions", [])
    return sorted(
        {str(v["EngineVersion"]) for v in found if v.get("MajorEngineVersion") == major and "EngineVersion" in v},
        key=lambda text: [int(p) if p.isdigit() else 0 for p in text.split(".")],
    )


def check_engine_version(ctx: Context) -> Result:
    s, profile = ctx.settings, ctx.settings.profile
    rds: RDSClient = ctx.client("rds")
    name = f"{ENGINE.value} {ENGINE_VERSION}"
    versions = _engine_versions(rds, ENGINE_VERSION)
    if not versions:
        offered = _offered(rds, ENGINE_VERSION.split(".")[0])
        return Result(
            "aurora engine",
            "FAIL",
            f"{name} is not offered in {s.region}" + (f"; offered there: {', '.join(offered)}" if offered else ""),
            ("set ENGINE_VERSION in infra/components/database.py to a version offered in the region",),
        )
    version = versions[-1]
    problems: list[str] = []
    fixes: list[str] = []
    if version.get("Status", "available") != "available":
        problems.append(f"its status is {version.get('Status')} (AWS will upgrade it)")
        fixes.append("move ENGINE_VERSION in infra/components/database.py to a current minor version")
    support = version.get("ServerlessV2FeaturesSupport") or {}
    low, high = support.get("MinCapacity"), support.get("MaxCapacity")
    if low is not None and profile.aurora_min_acu < float(low):
        problems.append(f"Serverless v2 needs at least {low:g} ACU; auroraMinAcu = {profile.aurora_min_acu:g}")
        fixes.append(f"pulumi config set auroraMinAcu {low:g}")
    if high is not None and profile.aurora_max_acu > float(high):
        problems.append(f"Serverless v2 allows at most {high:g} ACU; auroraMaxAcu = {profile.aurora_max_acu:g}")
        fixes.append(f"pulumi config set auroraMaxAcu {high:g}")
    orderable = rds.describe_orderable_db_instance_options(
        Engine=ENGINE.value, EngineVersion=str(version["EngineVersion"]), DBInstanceClass="db.serverless", MaxRecords=20
    ).get("OrderableDBInstanceOptions", [])
    if not orderable:
        problems.append(f"Serverless v2 (db.serverless) is not offered for it in {s.region}")
        fixes.append("choose an ENGINE_VERSION that supports Serverless v2 (infra/components/database.py)")
    if problems:
        failing = any("Serverless" in p for p in problems)
        return Result("aurora engine", "FAIL" if failing else "WARN", f"{name}: " + "; ".join(problems), tuple(fixes))
    said = f" (Serverless v2 {low:g} to {high:g} ACU)" if low is not None and high is not None else ""
    return Result("aurora engine", "OK", f"{name} with Serverless v2 is offered in {s.region}{said}")


def check_docker(ctx: Context) -> Result:
    if ctx.docker is None:
        return Result(
            "docker",
            "FAIL",
            "docker is not installed; pulumi up builds the API function's linux/arm64 image with it",
            ("install Docker Engine (with the buildx plugin) or Docker Desktop",),
        )
    steps: list[tuple[list[str], str, tuple[str, ...]]] = [
        (
            ["version", "--format", "{{.Server.Version}}"],
            "the Docker daemon does not answer",
            ("start it: sudo systemctl start docker (Linux) or open Docker Desktop",),
        ),
        (
            ["buildx", "version"],
            "docker buildx is missing",
            ("install the buildx plugin (Debian: docker-buildx-plugin)",),
        ),
    ]
    for args, problem, fixes in steps:
        completed = _docker(ctx, args)
        if isinstance(completed, str) or completed.returncode != 0:
            why = completed if isinstance(completed, str) else _last_line(completed.stderr or completed.stdout)
            return Result("docker", "FAIL", f"{problem} ({why})", fixes)
    listing = _docker(ctx, ["buildx", "ls"])
    if isinstance(listing, str) or listing.returncode != 0:
        why = listing if isinstance(listing, str) else _last_line(listing.stderr)
        return Result("docker", "FAIL", f"docker buildx ls failed ({why})", ("docker buildx create --use",))
    if "linux/arm64" not in listing.stdout:
        return Result(
            "docker",
            "FAIL",
            "no buildx builder offers linux/arm64 (the function runs on Graviton)",
            (
                "register the arm64 emulator once: docker run --privileged --rm tonistiigi/binfmt --install arm64",
                "then check: docker buildx ls (a builder lists linux/arm64)",
            ),
        )
    return Result("docker", "OK", "docker with buildx, and a builder for linux/arm64")


def _docker(ctx: Context, args: list[str]) -> subprocess.CompletedProcess[str] | str:
    assert ctx.docker is not None
    try:
        return ctx.run([ctx.docker, *args])
    except subprocess.TimeoutExpired:
        return f"no answer in {DOCKER_TIMEOUT_SECONDS} s"
    except OSError as error:
        return str(error)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def stack_sets_api_gateway_account(settings: Settings) -> bool:
    """Whether this stack's program declares the region's ``aws.apigateway.Account``.

    Only with ``manageApiGatewayAccount: true`` (off by default: the bootstrap program owns it).
    """
    return settings.manage_api_gateway_account


def _role_owner(ctx: Context, role_arn: str) -> tuple[str, bool]:
    """Who owns the role, from its tags (or its name), and whether the role exists."""
    name = role_arn.rsplit("/", 1)[-1]
    iam: IAMClient = ctx.client("iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return "nobody: the role does not exist", False
        return f"unknown ({describe_aws_error(error)[0]})", True
    tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
    shown = [f"{k}={tags[k]}" for k in ("ManagedBy", "Project", "Environment", "Owner", "Name") if k in tags]
    return (f"role {name}, tags " + ", ".join(shown)) if shown else f"role {name}, untagged", True


def check_api_gateway_account(ctx: Context) -> Result:
    s = ctx.settings
    apigw: APIGatewayClient = ctx.client("apigateway")
    role_arn = apigw.get_account().get("cloudwatchRoleArn")
    manages = stack_sets_api_gateway_account(s)
    stack_role = s.name("apigateway-logs")
    update = (
        f"aws apigateway update-account --region {s.region} "
        "--patch-operations op=replace,path=/cloudwatchRoleArn,value=<role arn>"
    )
    if not role_arn:
        if manages:
            return Result(
                "api gateway logging role",
                "OK",
                f"not set in {s.region}; this stack sets it (role {stack_role}) with manageApiGatewayAccount and "
                "keeps it set when destroyed",
            )
        return Result(
            "api gateway logging role",
            "FAIL",
            f"not set in {s.region}, and this stack does not set it; the stage's logging needs it",
            (f"set it once per account and region with the bootstrap program (bootstrap/), or: {update}",),
        )
    owner, exists = _role_owner(ctx, role_arn)
    if not exists:
        return Result(
            "api gateway logging role",
            "FAIL",
            f"{role_arn} is set in {s.region}, but the role is gone: stages that log cannot be updated",
            (f"point it at a role API Gateway can assume: the bootstrap program (bootstrap/), or {update}",),
        )
    mine = role_arn.endswith(f"/{stack_role}")
    detail = f"{role_arn} ({owner}); this stack {'sets' if manages else 'does not set'} it"
    if manages and not mine:
        return Result(
            "api gateway logging role",
            "WARN",
            detail + ": pulumi up replaces the region's role with this stack's, and destroying either owner "
            "resets it for every stack in the region",
            ("let one owner set it per account and region (bootstrap/), and no stack",),
        )
    return Result("api gateway logging role", "OK", detail)


def _covers(names: Iterable[str], wanted: str) -> bool:
    wanted = wanted.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == wanted or (name.startswith("*.") and wanted.partition(".")[2] == name[2:]):
            return True
    return False


def _certificate(ctx: Context, purpose: str, key: str, arn: str, region: str, names: list[str]) -> Result:
    check = f"certificate ({purpose})"
    request = f"aws acm request-certificate --region {region} --validation-method DNS --domain-name {names[0]}" + (
        f" --subject-alternative-names {' '.join(names[1:])}" if names[1:] else ""
    )
    parts = arn.split(":")
    arn_region = parts[3] if len(parts) > 5 and parts[2] == "acm" else ""
    if arn_region != region:
        return Result(
            check,
            "FAIL",
            f"{key} = {arn} is {'in ' + arn_region if arn_region else 'not an ACM certificate ARN'}; "
            f"the certificate for {purpose} must be in {region}",
            (f"{request}; then pulumi config set {key.partition(':')[2]} <its arn>",),
        )
    acm: ACMClient = ctx.client("acm", region)
    try:
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return Result(check, "FAIL", f"{key} = {arn} does not exist in this account", (request,))
        raise
    covered = [str(cert.get("DomainName", "")), *[str(n) for n in cert.get("SubjectAlternativeNames", [])]]
    missing = [n for n in names if not _covers(covered, n)]
    status = str(cert.get("Status", "UNKNOWN"))
    problems = []
    fixes = []
    if status != "ISSUED":
        problems.append(f"its status is {status}, not ISSUED")
        fixes.append(
            f"complete DNS validation: aws acm describe-certificate --region {region} --certificate-arn {arn} "
            "--query Certificate.DomainValidationOptions (add each ResourceRecord to DNS)"
        )
    if missing:
        problems.append(f"it does not cover {', '.join(missing)} (it covers {', '.join(covered)})")
        fixes.append(f"{request}; then pulumi config set {key.partition(':')[2]} <its arn>")
    if problems:
        return Result(check, "FAIL", f"{key}: " + "; ".join(problems), tuple(fixes))
    return Result(check, "OK", f"{arn} is ISSUED in {region} and covers {', '.join(names)}")


def check_certificates(ctx: Context) -> list[Result]:
    s = ctx.settings
    if not s.domain_name:
        return [Result("certificates", "OK", "no custom domain (domainName unset): none needed")]
    results = []
    if s.certificate_arn:
        results.append(
            _certificate(
                ctx,
                "API Gateway and the ALB",
                "ecommerce:certificateArn",
                s.certificate_arn,
                s.region,
                [f"api.{s.domain_name}", f"alb.{s.domain_name}"],
            )
        )
    if s.cloudfront_certificate_arn:
        results.append(
            _certificate(
                ctx,
                "CloudFront",
                "ecommerce:cloudfrontCertificateArn",
                s.cloudfront_certificate_arn,
                CLOUDFRONT_REGION,
                [s.domain_name],
            )
        )
    else:
        results.append(
            Result(
                "certificate (CloudFront)",
                "WARN",
                f"domainName = {s.domain_name} but no cloudfrontCertificateArn: the storefront stays on its "
                "*.cloudfront.net name",
                (
                    f"aws acm request-certificate --region {CLOUDFRONT_REGION} --validation-method DNS --domain-name "
                    f"{s.domain_name}; then pulumi config set cloudfrontCertificateArn <its arn>",
                ),
            )
        )
    return results


def check_availability_zones(ctx: Context) -> Result:
    ec2: EC2Client = ctx.client("ec2")
    zones = ec2.describe_availability_zones(
        Filters=[
            {"Name": "state", "Values": ["available"]},
            {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
        ]
    ).get("AvailabilityZones", [])
    names = sorted(str(z.get("ZoneName")) for z in zones)
    if len(names) < AZ_COUNT:
        return Result(
            "availability zones",
            "FAIL",
            f"{ctx.settings.region} offers {len(names)} available AZs ({', '.join(names)}); the VPC spans {AZ_COUNT}",
            ("choose a region with at least 3 AZs: pulumi config set aws:region <region>",),
        )
    return Result("availability zones", "OK", f"{len(names)} in {ctx.settings.region}: {', '.join(names)}")


def _quota(ctx: Context, service: str, code: str, default: int) -> tuple[int, str]:
    quotas: ServiceQuotasClient = ctx.client("service-quotas")
    try:
        value = quotas.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"].get("Value")
    except botocore.exceptions.ClientError:
        return default, "AWS default"
    return (int(value), "quota") if value is not None else (default, "AWS default")


def _ours(settings: Settings, resource: Mapping[str, Any]) -> bool:
    """Whether a resource is this stack's already (a redeploy adds nothing): its Project and Name tags."""
    tags = {str(t.get("Key")): str(t.get("Value")) for t in resource.get("Tags", [])}
    return tags.get("Project") == settings.project and tags.get("Name", "").endswith(f"-{settings.suffix}")


def check_network_quotas(ctx: Context) -> Result:
    """The VPC, Elastic IPs and NAT gateways the stack adds fit the region's quotas."""
    s = ctx.settings
    ec2: EC2Client = ctx.client("ec2")
    vpcs = ec2.describe_vpcs().get("Vpcs", [])
    eips = ec2.describe_addresses().get("Addresses", [])
    gateways = ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["pending", "available"]}]).get(
        "NatGateways", []
    )
    per_az: dict[str, int] = {}
    subnets = [str(g.get("SubnetId")) for g in gateways if g.get("SubnetId")]
    if subnets:
        for subnet in ec2.describe_subnets(SubnetIds=subnets).get("Subnets", []):
            zone = str(subnet.get("AvailabilityZone"))
            per_az[zone] = per_az.get(zone, 0) + 1
    nat_ours = any(_ours(s, g) for g in gateways)
    needs = [
        ("VPCs per region", VPC_QUOTA, len(vpcs), 0 if any(_ours(s, v) for v in vpcs) else 1),
        ("Elastic IPs", EIP_QUOTA, len(eips), max(0, s.profile.nat_gateways - sum(_ours(s, a) for a in eips))),
        ("NAT gateways per AZ", NAT_PER_AZ_QUOTA, max(per_az.values(), default=0), 0 if nat_ours else 1),
    ]
    problems, fixes, seen = [], [], []
    for label, (service, code, default), used, adding in needs:
        limit, source = _quota(ctx, service, code, default)
        seen.append(f"{label} {used}+{adding}/{limit}")
        if used + adding > limit:
            problems.append(f"{label}: {used} in use + {adding} for this stack > {limit} ({source})")
            fixes.append(
                f"aws service-quotas request-service-quota-increase --region {s.region} --service-code {service} "
                f"--quota-code {code} --desired-value {used + adding}"
            )
    if problems:
        return Result("network quotas", "FAIL", "; ".join(problems), tuple(fixes))
    return Result("network quotas", "OK", ", ".join(seen))


def check_ecr_login(ctx: Context) -> Result:
    """pulumi up pushes the image with an ECR token: the caller must be able to get one."""
    ecr: ECRClient = ctx.client("ecr")
    data = ecr.get_authorization_token().get("authorizationData", [])
    if not data:
        return Result("ecr login", "FAIL", "ECR returned no authorization token", ("check ecr:GetAuthorizationToken",))
    return Result("ecr login", "OK", f"the caller can log in to ECR in {ctx.settings.region}")


def _missing(call: Callable[[], Any], *codes: str) -> bool:
    """Whether the call fails with one of the "does not exist" codes (any other error propagates)."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in codes:
            return True
        raise
    return False


def check_existing_names(ctx: Context) -> Result:
    """Resources with this stack's fixed physical names: fine on a redeploy, fatal on a new stack."""
    s = ctx.settings
    function = s.name("api")
    lam: LambdaClient = ctx.client("lambda")
    ecr: ECRClient = ctx.client("ecr")
    logs: CloudWatchLogsClient = ctx.client("logs")
    dynamodb: DynamoDBClient = ctx.client("dynamodb")
    found = []
    if not _missing(lambda: lam.get_function(FunctionName=function), "ResourceNotFoundException"):
        found.append(f"Lambda function {function}")
    if not _missing(lambda: ecr.describe_repositories(repositoryNames=[function]), "RepositoryNotFoundException"):
        found.append(f"ECR repository {function}")
    group = f"/aws/lambda/{function}"
    groups = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    if any(g.get("logGroupName") == group for g in groups):
        found.append(f"log group {group}")
    for spec in TABLES:
        table = s.name(spec.logical)
        if not _missing(functools.partial(dynamodb.describe_table, TableName=table), "ResourceNotFoundException"):
            found.append(f"DynamoDB table {table}")
    if not found:
        return Result("existing names", "OK", f"no resource uses this stack's names yet (ecommerce-*-{s.suffix})")
    return Result(
        "existing names",
        "WARN",
        f"{', '.join(found)} exist: expected when this stack deployed them; a new stack's pulumi up would fail "
        'with "already exists"',
        (
            "new stack: pulumi config set environmentSuffix <an unused suffix>",
            "or adopt them (pulumi import) or delete what an earlier stack left behind",
        ),
    )


AwsCheck = Callable[[Context], "Result | list[Result]"]
AWS_CHECKS: tuple[tuple[str, AwsCheck], ...] = (
    ("lambda concurrency", check_lambda_concurrency),
    ("aurora engine", check_engine_version),
    ("api gateway logging role", check_api_gateway_account),
    ("certificates", check_certificates),
    ("availability zones", check_availability_zones),
    ("network quotas", check_network_quotas),
    ("ecr login", check_ecr_login),
    ("existing names", check_existing_names),
)


def _guarded(name: str, check: Callable[[], Result | list[Result]]) -> list[Result]:
    try:
        outcome = check()
    except Exception as error:  # every failure becomes a line, never a trace
        detail, fixes = describe_aws_error(error)
        return [Result(name, "FAIL", detail, fixes)]
    return outcome if isinstance(outcome, list) else [outcome]


def run_checks(ctx: Context) -> list[Result]:
    """Every check against the account and the machine, in order."""
    results = _guarded("credentials", lambda: check_identity(ctx))
    if results[0].status == "OK":
        for name, check in AWS_CHECKS:
            results += _guarded(name, lambda check=check: check(ctx))  # type: ignore[misc]
    else:
        results += [Result(name, "SKIP", "needs AWS credentials (see above)") for name, _ in AWS_CHECKS]
    results += _guarded("docker", lambda: check_docker(ctx))
    return results


def preflight(
    stack: str,
    clients: ClientFactory | None = None,
    out: Callable[[str], None] = print,
    overrides: Mapping[str, str | None] | None = None,
    **context: Any,
) -> int:
    """Check ``stack`` and print one line per check; 1 when any check fails, else 0."""
    try:
        settings = load_stack_settings(stack, overrides)
    except (SettingsError, StackConfigError) as error:
        fix = (
            f"pulumi stack init {stack}, or name an existing stack: --stack NAME (make preflight STACK=NAME)"
            if isinstance(error, StackConfigError)
            else f"set the key named above: pulumi config set --stack {stack} KEY VALUE (Pulumi.{stack}.yaml)"
        )
        for line in Result("settings", "FAIL", str(error), (fix,)).lines():
            out(line)
        return 1
    except Exception as error:
        out(f"[FAIL] settings: cannot read the stack's settings ({type(error).__name__}: {error})")
        return 1
    out(f"[ OK ] settings: stack {stack}, environment {settings.environment}, region {settings.region}")
    if clients is None:
        try:
            profile = stack_values(stack)[0].get("aws:profile")
            clients = AwsClients(boto3.Session(profile_name=str(profile) if profile else None))
        except Exception as error:  # a missing profile, say: every AWS check reports it
            clients = _failing(error)
    results = run_checks(Context(settings=settings, clients=clients, **context))
    for result in results:
        for line in result.lines():
            out(line)
    failed = [r.check for r in results if r.status == "FAIL"]
    warned = [r.check for r in results if r.status == "WARN"]
    out(
        f"preflight {stack}: {len(results)} checks, {len(failed)} failed, {len(warned)} warnings"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0


def _failing(error: Exception) -> ClientFactory:
    def factory(service: str, region: str) -> Any:
        raise error

    return factory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.preflight",
        description="Read-only checks that pulumi up will get through on this AWS account with this stack.",
    )
    parser.add_argument(
        "--stack",
        default=os.environ.get("PULUMI_STACK") or "dev",
        help="the stack whose Pulumi.<stack>.yaml to check (default: $PULUMI_STACK, else dev)",
    )
    args = parser.parse_args(argv)
    try:
        return preflight(args.stack)
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
