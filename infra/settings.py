"""Typed, validated stack settings.

The program reads Pulumi config exactly once, through :func:`load_settings`,
and every component receives the resulting :class:`Settings`. Bad values fail
here, before any resource is declared, with a message that names the config
key and what it accepts.

Config keys (namespace ``ecommerce``):

- ``environment`` (required): dev | staging | prod; selects a sizing profile.
- ``environmentSuffix``: goes into every physical name; defaults to the stack name.
- ``owner``, ``costCenter``: tag values.
- ``alarmEmail``: subscribe this address to the alarm topic. Required in prod, where an address at a
  reserved example domain (example.com, example.org, example.net and their subdomains; the .test,
  .example, .invalid and .localhost TLDs) is refused: nobody would read the alarms.
- ``domainName``, ``certificateArn`` (regional, for API Gateway and the ALB),
  ``cloudfrontCertificateArn`` (us-east-1): optional custom domain.
- ``storefrontCredential`` (secret, required outside prod): ``user:password`` that
  the edge function asks for before serving a non-prod storefront.
- ``originVerifySecret`` (secret, optional): 32-128 letters, digits, ``-`` or ``_``;
  CloudFront sends it to the ALB in a header and the ALB forwards only requests
  that carry it. The ALB is internal and reachable only through this stack's
  CloudFront VPC origin; the secret is defence in depth against another
  distribution in the same account reusing that VPC origin.
- ``stripeSecretKey`` / ``stripeWebhookSecret`` (secrets, required): Stripe's secret key
  (``sk_test_``/``sk_live_``/``rk_...``) and the webhook endpoint's signing secret (``whsec_...``);
  stored in SSM Parameter Store by ``infra/components/payments.py``.
- ``stripePublishableKey`` (plain, required): the publishable key (``pk_test_``/``pk_live_``) the
  storefront's Stripe.js uses; public, so plain config (committed in ``Pulumi.<stack>.yaml`` or set by
  the pipeline). Its mode must match the secret key's (test with test, live with live).
- ``drRegion``: the second region AWS Backup copies recovery points to (required with ``drCopy``).
- ``manageApiGatewayAccount`` (default false): this stack sets the region's API Gateway
  CloudWatch role (``aws.apigateway.Account``). The bootstrap program owns it; turn this on
  only in an account without the bootstrap program, in one stack per account and region.
- any :class:`Profile` field in camelCase (``lambdaReservedConcurrency``,
  ``dynamoBillingMode``, ``natGateways``, ``egress``, ``waf``, ...) overrides the profile value.
  ``lambdaReservedConcurrency`` also takes ``none``: no reservation (the function
  draws on the region's unreserved pool).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, get_args

import pulumi

from shop.declarations import (
    API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS,
    FUNCTION_TIMEOUT_SECONDS,
    PROJECT,
    STRIPE_PUBLISHABLE_KEY_PATTERN,
    physical_name,
)

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
BillingMode = Literal["PROVISIONED", "PAY_PER_REQUEST"]
BILLING_MODES: tuple[str, ...] = get_args(BillingMode)
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
PRICE_CLASSES: tuple[str, ...] = get_args(PriceClass)
# How the private subnets reach the internet (Stripe, and AWS APIs without a VPC endpoint):
# NAT gateways (natGateways of them, one per AZ at 3) or one small NAT instance. There is no
# "none": the API function reaches api.stripe.com in every profile (ARCHITECTURE.md, "Egress").
Egress = Literal["nat_gateway", "nat_instance"]
EGRESS_MODES: tuple[str, ...] = get_args(Egress)

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# API Gateway (REST) waits at most 29 s for an integration unless a quota increase says otherwise
# (API Gateway Developer Guide, "Amazon API Gateway quotas"). The API function's timeout stays
# below it, so a slow request ends as the function's own error, not as a 504 while the function
# goes on (and perhaps commits) behind the client's back.
API_GATEWAY_INTEGRATION_TIMEOUT_MS = API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS * 1000
# Longest environmentSuffix: every physical name is built to fit AWS's limits with it
# (tests/infra/test_aws_limits.py runs every stack with a suffix this long).
MAX_SUFFIX_LENGTH = 16

# Lower-case (S3), starting with a letter, and no trailing or double hyphen (RDS identifiers).
_SUFFIX = re.compile(rf"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){{0,{MAX_SUFFIX_LENGTH - 1}}}$")
_ORIGIN_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# Domains reserved for documentation and testing (RFC 2606, RFC 6761): mail there reaches nobody.
RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
RESERVED_EMAIL_TLDS = ("test", "example", "invalid", "localhost")
# Lambda keeps this much of a region's concurrency quota unreserved, whatever functions reserve
# (PutFunctionConcurrency fails below it). A function without a reservation shares that pool, so
# its stage throttle is sized as if it had this much concurrency.
LAMBDA_UNRESERVED_MINIMUM = 100
# The config value of lambdaReservedConcurrency that means "no reservation".
NO_RESERVATION = "none"


class SettingsError(ValueError):
    """A config value is missing or out of range."""


@dataclass(frozen=True)
class Profile:
    """Sizing and protection values for one environment. See ARCHITECTURE.md."""

    # Network
    nat_gateways: int
    # NAT gateways (``nat_gateways`` of them) or one NAT instance (see Egress).
    egress: Egress
    # Interface endpoints for Secrets Manager and SSM in every private subnet (instead of
    # reaching them through NAT).
    secrets_endpoints: bool
    # AWS WAF web ACL on the distribution, and its per-IP limit on checkout and sign-in
    # (requests per 5 minutes).
    waf: bool
    waf_rate_limit: int
    # DynamoDB
    dynamo_billing_mode: BillingMode
    dynamo_read_capacity: int
    dynamo_write_capacity: int
    dynamo_max_read_capacity: int
    dynamo_max_write_capacity: int
    # API function
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    # None: no reservation (config value "none"); the function shares the unreserved pool.
    lambda_reserved_concurrency: int | None
    # API Gateway stage throttling
    api_rate_limit: int
    api_burst_limit: int
    # The handler duration the throttle is sized for (see ARCHITECTURE.md):
    # api_rate_limit must not exceed reserved concurrency / this duration.
    handler_duration_budget_ms: int
    # Aurora Serverless v2
    aurora_readers: int
    aurora_min_acu: float
    aurora_max_acu: float
    # With aurora_min_acu = 0: idle seconds before Aurora pauses the instances (300 to 86400).
    aurora_auto_pause_seconds: int
    # RDS Proxy in front of the cluster. Off: functions connect to the cluster endpoint with
    # IAM auth and TLS (a proxy's connections would keep a 0-ACU cluster from pausing).
    rds_proxy: bool
    db_backup_retention_days: int
    # The one protection decision: Pulumi protect + AWS deletion protection on every data
    # store and on the ALB. A stack is retired by setting it to false (README, teardown).
    protect_data: bool
    # On destroy, keep what restores the data: the cluster's final snapshot, the backup vaults
    # with their recovery points, and the KMS keys that decrypt them.
    keep_backups_on_destroy: bool
    aws_backup: bool
    # AWS Backup copies every recovery point to a vault in config ecommerce:drRegion.
    dr_copy: bool
    # Days AWS Backup keeps each daily recovery point (when aws_backup is on).
    backup_retention_days: int
    # Logs and delivery
    log_retention_days: int
    cloudfront_price_class: PriceClass
    # Alarm thresholds
    alarm_lambda_errors: int
    alarm_lambda_p99_ms: int
    alarm_api_5xx_percent: float
    alarm_db_connections: int
    # Per 5 minutes: ALB 5xx responses, Lambda throttles, DynamoDB throttle events (per table).
    alarm_alb_5xx_count: int
    alarm_lambda_throttles: int
    alarm_dynamo_throttles: int

    @property
    def throttle_concurrency(self) -> int:
        """The concurrency the stage throttle is sized for: the reservation, or without one the
        unreserved minimum Lambda guarantees to the region's unreserved functions together."""
        reserved = self.lambda_reserved_concurrency
        return LAMBDA_UNRESERVED_MINIMUM if reserved is None else reserved

    @property
    def throttle_capacity_rps(self) -> int:
        """Requests per second that concurrency can serve at the budgeted duration."""
        return self.throttle_concurrency * 1000 // self.handler_duration_budget_ms

    @property
    def reserved_concurrent_executions(self) -> int:
        """pulumi-aws's ``reserved_concurrent_executions``: the reservation, or -1 for none."""
        return -1 if self.lambda_reserved_concurrency is None else self.lambda_reserved_concurrency


PROFILES: dict[str, Profile] = {
    "dev": Profile(
        nat_gateways=1,
        egress="nat_instance",
        secrets_endpoints=False,
        waf=False,
        waf_rate_limit=100,
        dynamo_billing_mode="PAY_PER_REQUEST",
        dynamo_read_capacity=5,
        dynamo_write_capacity=5,
        dynamo_max_read_capacity=50,
        dynamo_max_write_capacity=50,
        lambda_memory_mb=3072,
        lambda_timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
        lambda_reserved_concurrency=10,
        api_rate_limit=100,
        api_burst_limit=50,
        handler_duration_budget_ms=80,
        aurora_readers=0,
        aurora_min_acu=0.0,
        aurora_max_acu=4,
        aurora_auto_pause_seconds=300,
        rds_proxy=False,
        db_backup_retention_days=1,
        protect_data=False,
        keep_backups_on_destroy=False,
        aws_backup=False,
        dr_copy=False,
        backup_retention_days=7,
        log_retention_days=7,
        cloudfront_price_class="PriceClass_100",
        alarm_lambda_errors=10,
        alarm_lambda_p99_ms=10_000,
        alarm_api_5xx_percent=5.0,
        alarm_db_connections=200,
        alarm_alb_5xx_count=20,
        alarm_lambda_throttles=10,
        alarm_dynamo_throttles=10,
    ),
    "staging": Profile(
        nat_gateways=3,
        egress="nat_gateway",
        secrets_endpoints=False,
        waf=True,
        waf_rate_limit=100,
        dynamo_billing_mode="PROVISIONED",
        dynamo_read_capacity=10,
        dynamo_write_capacity=10,
        dynamo_max_read_capacity=100,
        dynamo_max_write_capacity=100,
        lambda_memory_mb=3072,
        lambda_timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
        lambda_reserved_concurrency=None,
        api_rate_limit=1_000,
        api_burst_limit=500,
        handler_duration_budget_ms=80,
        aurora_readers=2,
        aurora_min_acu=0.5,
        aurora_max_acu=16,
        aurora_auto_pause_seconds=300,
        rds_proxy=True,
        db_backup_retention_days=7,
        protect_data=False,
        keep_backups_on_destroy=False,
        aws_backup=True,
        dr_copy=False,
        backup_retention_days=14,
        log_retention_days=30,
        cloudfront_price_class="PriceClass_100",
        alarm_lambda_errors=5,
        alarm_lambda_p99_ms=5_000,
        alarm_api_5xx_percent=2.0,
        alarm_db_connections=500,
        alarm_alb_5xx_count=10,
        alarm_lambda_throttles=5,
        alarm_dynamo_throttles=5,
    ),
    "prod": Profile(
        nat_gateways=3,
        egress="nat_gateway",
        secrets_endpoints=False,
        waf=True,
        waf_rate_limit=100,
        dynamo_billing_mode="PROVISIONED",
        dynamo_read_capacity=10,
        dynamo_write_capacity=10,
        dynamo_max_read_capacity=1_000,
        dynamo_max_write_capacity=1_000,
        lambda_memory_mb=3072,
        lambda_timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
        lambda_reserved_concurrency=800,
        api_rate_limit=10_000,
        api_burst_limit=5_000,
        handler_duration_budget_ms=80,
        aurora_readers=2,
        aurora_min_acu=1.0,
        aurora_max_acu=64,
        aurora_auto_pause_seconds=300,
        rds_proxy=True,
        db_backup_retention_days=30,
        protect_data=True,
        keep_backups_on_destroy=True,
        aws_backup=True,
        dr_copy=True,
        backup_retention_days=35,
        log_retention_days=90,
        cloudfront_price_class="PriceClass_All",
        alarm_lambda_errors=5,
        alarm_lambda_p99_ms=3_000,
        alarm_api_5xx_percent=1.0,
        alarm_db_connections=1_500,
        alarm_alb_5xx_count=10,
        alarm_lambda_throttles=5,
        alarm_dynamo_throttles=5,
    ),
}


@dataclass(frozen=True)
class Settings:
    """Everything the program needs to know about the stack it deploys."""

    project: str
    stack: str
    environment: Environment
    suffix: str
    region: str
    profile: Profile
    owner: str
    cost_center: str
    alarm_email: str | None = None
    domain_name: str | None = None
    certificate_arn: str | None = None
    cloudfront_certificate_arn: str | None = None
    # "user:password" guarding the storefront of non-prod stacks (secret; None in prod).
    storefront_credential: pulumi.Output[str] | None = None
    # Shared secret CloudFront presents to the ALB (optional).
    origin_verify_secret: pulumi.Output[str] | None = None
    # Stripe's secret API key and the webhook endpoint's signing secret (secrets, required).
    stripe_secret_key: pulumi.Output[str] | None = None
    stripe_webhook_secret: pulumi.Output[str] | None = None
    # The storefront's Stripe publishable key (plain: it is public by design).
    stripe_publishable_key: str = ""
    # Second region AWS Backup copies recovery points to (profile.dr_copy).
    dr_region: str | None = None
    # Whether this stack owns the region's API Gateway CloudWatch role setting (bootstrap/ does).
    manage_api_gateway_account: bool = False

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def name(self, resource: str) -> str:
        """Physical name: ``ecommerce-<resource>-<environmentSuffix>`` (``shop.declarations.physical_name``)."""
        return physical_name(resource, self.suffix)

    @property
    def common_tags(self) -> dict[str, str]:
        """Tags every taggable resource carries (Name is added per resource)."""
        return {
            "Environment": self.environment,
            "Project": self.project,
            "ManagedBy": "Pulumi",
            "CostCenter": self.cost_center,
            "Owner": self.owner,
        }


def _camel(field_name: str) -> str:
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"config ecommerce:{key} = {value!r} is not valid; allowed values: {', '.join(allowed)}")
    return value


def _flag(config: pulumi.Config, key: str) -> bool:
    raw = config.get(key)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise SettingsError(f"config ecommerce:{key} = {raw!r} is not valid; allowed values: true, false")
    return raw.lower() == "true"


def _override(profile: Profile, config: pulumi.Config) -> Profile:
    changes: dict[str, Any] = {}
    for f in fields(Profile):
        key = _camel(f.name)
        raw = config.get(key)
        if raw is None:
            continue
        current = getattr(profile, f.name)
        value: Any
        try:
            if isinstance(current, bool):
                if raw.lower() not in ("true", "false"):
                    raise ValueError
                value = raw.lower() == "true"
            elif f.name == "lambda_reserved_concurrency":
                value = None if raw.strip().lower() == NO_RESERVATION else int(raw)
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            else:
                value = raw
        except ValueError:
            expected = f"an int or {NO_RESERVATION!r}" if f.name == "lambda_reserved_concurrency" else None
            raise SettingsError(
                f"config ecommerce:{key} = {raw!r} is not {expected or 'a ' + type(current).__name__}"
            ) from None
        changes[f.name] = value
    return replace(profile, **changes) if changes else profile


def validate_profile(profile: Profile) -> Profile:
    """Reject values AWS would refuse, or that contradict each other."""

    def at_least(name: str, minimum: float) -> None:
        value = getattr(profile, name)
        if value < minimum:
            raise SettingsError(f"config ecommerce:{_camel(name)} = {value} is below the minimum of {minimum}")

    for name in (
        "dynamo_read_capacity",
        "dynamo_write_capacity",
        "api_rate_limit",
        "api_burst_limit",
        "handler_duration_budget_ms",
        "lambda_timeout_seconds",
        "db_backup_retention_days",
        "backup_retention_days",
        "alarm_lambda_errors",
        "alarm_lambda_p99_ms",
        "alarm_db_connections",
        "alarm_alb_5xx_count",
        "alarm_lambda_throttles",
        "alarm_dynamo_throttles",
    ):
        at_least(name, 1)
    at_least("lambda_memory_mb", 128)
    if profile.lambda_reserved_concurrency is not None and profile.lambda_reserved_concurrency < 1:
        # 0 is valid to AWS, and stops every invocation of the function.
        raise SettingsError(
            f"config ecommerce:lambdaReservedConcurrency = {profile.lambda_reserved_concurrency} is below the "
            f"minimum of 1 (0 would throttle every request); for no reservation: "
            f"pulumi config set lambdaReservedConcurrency {NO_RESERVATION}"
        )
    if profile.aurora_min_acu != 0:
        at_least("aurora_min_acu", 0.5)
    if not 300 <= profile.aurora_auto_pause_seconds <= 86_400:
        raise SettingsError(
            f"config ecommerce:auroraAutoPauseSeconds = {profile.aurora_auto_pause_seconds}; "
            "allowed range: 300 to 86400"
        )
    if profile.aurora_min_acu == 0 and profile.rds_proxy:
        raise SettingsError(
            "config ecommerce:auroraMinAcu = 0 needs ecommerce:rdsProxy = false: an attached RDS Proxy keeps "
            "the instances from pausing (set auroraMinAcu to 0.5 or more, or rdsProxy to false)"
        )
    if profile.dr_copy and not profile.aws_backup:
        raise SettingsError(
            "config ecommerce:drCopy = true needs ecommerce:awsBackup = true (it copies its recovery points)"
        )
    if not 1 <= profile.nat_gateways <= 3:
        raise SettingsError(f"config ecommerce:natGateways = {profile.nat_gateways}; allowed values: 1, 2, 3")
    if not 0 <= profile.aurora_readers <= 15:
        raise SettingsError(f"config ecommerce:auroraReaders = {profile.aurora_readers}; allowed range: 0 to 15")
    if profile.aurora_max_acu < profile.aurora_min_acu or profile.aurora_max_acu > 256:
        raise SettingsError(
            f"config ecommerce:auroraMaxAcu = {profile.aurora_max_acu}; allowed range: "
            f"auroraMinAcu ({profile.aurora_min_acu}) to 256"
        )
    if profile.dynamo_max_read_capacity < profile.dynamo_read_capacity:
        raise SettingsError("config ecommerce:dynamoMaxReadCapacity must be at least dynamoReadCapacity")
    if profile.dynamo_max_write_capacity < profile.dynamo_write_capacity:
        raise SettingsError("config ecommerce:dynamoMaxWriteCapacity must be at least dynamoWriteCapacity")
    if profile.lambda_timeout_seconds * 1000 >= API_GATEWAY_INTEGRATION_TIMEOUT_MS:
        raise SettingsError(
            f"config ecommerce:lambdaTimeoutSeconds = {profile.lambda_timeout_seconds}; allowed range 1 to "
            f"{API_GATEWAY_INTEGRATION_TIMEOUT_MS // 1000 - 1} (below API Gateway's "
            f"{API_GATEWAY_INTEGRATION_TIMEOUT_MS // 1000} s integration timeout)"
        )
    if profile.db_backup_retention_days > 35:
        raise SettingsError("config ecommerce:dbBackupRetentionDays: allowed range 1 to 35")
    _choice("dynamoBillingMode", profile.dynamo_billing_mode, BILLING_MODES)
    _choice("egress", profile.egress, EGRESS_MODES)
    # AWS WAF's rate-based rules accept 10 to 2,000,000,000 requests per evaluation window.
    if not 10 <= profile.waf_rate_limit <= 2_000_000_000:
        raise SettingsError(
            f"config ecommerce:wafRateLimit = {profile.waf_rate_limit}; allowed range: 10 to 2000000000"
        )
    _choice("cloudfrontPriceClass", profile.cloudfront_price_class, PRICE_CLASSES)
    if profile.log_retention_days not in LOG_RETENTION_DAYS:
        raise SettingsError(
            f"config ecommerce:logRetentionDays = {profile.log_retention_days}; allowed values: "
            + ", ".join(map(str, LOG_RETENTION_DAYS))
        )
    if profile.api_rate_limit > profile.throttle_capacity_rps:
        raise SettingsError(
            f"config ecommerce:apiRateLimit = {profile.api_rate_limit} rps exceeds what "
            f"lambdaReservedConcurrency = {profile.lambda_reserved_concurrency or NO_RESERVATION} "
            f"({profile.throttle_concurrency} concurrent executions) can serve at "
            f"handlerDurationBudgetMs = {profile.handler_duration_budget_ms} "
            f"({profile.throttle_capacity_rps} rps)"
        )
    return profile


def is_reserved_email_domain(address: str) -> bool:
    """True when the address's domain is reserved for examples and tests (nobody receives its mail)."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if domain.rpartition(".")[2] in RESERVED_EMAIL_TLDS:
        return True
    return any(domain == d or domain.endswith("." + d) for d in RESERVED_EMAIL_DOMAINS)


def validate_alarm_email(alarm_email: str | None, environment: str) -> str | None:
    """The alarm address: well-formed anywhere; in prod required and at a domain someone reads."""
    if alarm_email is not None and not _EMAIL.match(alarm_email):
        raise SettingsError(f"config ecommerce:alarmEmail = {alarm_email!r} is not an e-mail address")
    if environment != "prod":
        return alarm_email
    fix = "pulumi config set alarmEmail oncall@<your-domain> (README: Operations, Alarm notifications)"
    if alarm_email is None:
        raise SettingsError(
            f"config ecommerce:alarmEmail is required for a prod stack (alarms must reach someone): {fix}"
        )
    if is_reserved_email_domain(alarm_email):
        raise SettingsError(
            f"config ecommerce:alarmEmail = {alarm_email!r} is at a reserved example domain, which receives "
            f"no mail; prod alarms must reach someone: {fix}"
        )
    return alarm_email


def load_settings(config: pulumi.Config | None = None) -> Settings:
    """Read and validate the stack's config. Raises SettingsError on bad values."""
    config = config or pulumi.Config()
    stack = pulumi.get_stack()
    environment = _choice("environment", config.get("environment") or "<unset>", ENVIRONMENTS)

    suffix = config.get("environmentSuffix") or stack
    if not _SUFFIX.match(suffix):
        raise SettingsError(
            f"config ecommerce:environmentSuffix = {suffix!r} is not valid; allowed: 1-{MAX_SUFFIX_LENGTH} "
            "characters, lower-case letters, digits and single hyphens, starting with a letter and not "
            "ending with a hyphen (for example pr-12345)"
        )

    region = pulumi.Config("aws").get("region")
    if not region:
        raise SettingsError("config aws:region is required (for example: pulumi config set aws:region us-west-2)")

    alarm_email = validate_alarm_email(config.get("alarmEmail"), environment)

    domain_name = config.get("domainName")
    certificate_arn = config.get("certificateArn")
    if domain_name and not certificate_arn:
        raise SettingsError("config ecommerce:domainName requires ecommerce:certificateArn (an ACM certificate ARN)")
    if certificate_arn and not domain_name:
        raise SettingsError(
            "config ecommerce:certificateArn requires ecommerce:domainName (CloudFront reaches the ALB as "
            "alb.<domainName> and API Gateway serves api.<domainName>; the certificate must cover both)"
        )

    profile = validate_profile(_override(PROFILES[environment], config))
    storefront_credential = config.get_secret("storefrontCredential")
    # Checked in plain text here, once, so a bad value fails before anything is declared;
    # it travels on as a secret Output and the message never contains it.
    plain_credential = config.get("storefrontCredential")
    if plain_credential is not None:
        user, colon, password = plain_credential.partition(":")
        if not (user and colon and password):
            raise SettingsError("config ecommerce:storefrontCredential must look like 'user:password'")
    if storefront_credential is None and environment != "prod":
        raise SettingsError(
            f"config ecommerce:storefrontCredential is required for a {environment} stack (the storefront is "
            "closed to the public outside prod): pulumi config set --secret storefrontCredential 'user:password'"
        )
    if storefront_credential is not None and environment == "prod":
        raise SettingsError(
            "config ecommerce:storefrontCredential must not be set for a prod stack (the shop is public)"
        )
    origin_verify_secret = config.get_secret("originVerifySecret")
    plain_origin_secret = config.get("originVerifySecret")
    if plain_origin_secret is not None and not _ORIGIN_SECRET.match(plain_origin_secret):
        raise SettingsError(
            "config ecommerce:originVerifySecret must be 32 to 128 letters, digits, '-' or '_' "
            "(for example: openssl rand -hex 32)"
        )
    stripe_secret_key, stripe_webhook_secret = _stripe_secrets(config)
    stripe_publishable_key = _stripe_publishable_key(config)
    dr_region = config.get("drRegion")
    if profile.dr_copy and not dr_region:
        raise SettingsError(
            "config ecommerce:drRegion is required when drCopy is on (a second region for the backup copies, "
            "for example: pulumi config set drRegion us-east-1)"
        )
    if dr_region is not None and not _REGION.match(dr_region):
        raise SettingsError(f"config ecommerce:drRegion = {dr_region!r} is not an AWS region name")
    if dr_region == region:
        raise SettingsError(
            f"config ecommerce:drRegion must differ from aws:region ({region}): it is the second region"
        )
    return Settings(
        project=PROJECT,
        stack=stack,
        environment=environment,  # type: ignore[arg-type]
        suffix=suffix,
        region=region,
        profile=profile,
        owner=config.get("owner") or "platform-team",
        cost_center=config.get("costCenter") or "engineering",
        alarm_email=alarm_email,
        domain_name=domain_name,
        certificate_arn=certificate_arn,
        cloudfront_certificate_arn=config.get("cloudfrontCertificateArn"),
        storefront_credential=storefront_credential,
        origin_verify_secret=origin_verify_secret,
        stripe_secret_key=stripe_secret_key,
        stripe_webhook_secret=stripe_webhook_secret,
        stripe_publishable_key=stripe_publishable_key,
        dr_region=dr_region if profile.dr_copy else None,
        manage_api_gateway_account=_flag(config, "manageApiGatewayAccount"),
    )


# What a Stripe secret key and a webhook signing secret look like (secret, restricted; test or live).
_STRIPE_KEY = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}$")
_STRIPE_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9_]{8,}$")


def _stripe_secrets(config: pulumi.Config) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """``stripeSecretKey`` and ``stripeWebhookSecret``: required, secret, checked for shape (never echoed)."""
    found: list[pulumi.Output[str]] = []
    for key, pattern, example in (
        ("stripeSecretKey", _STRIPE_KEY, "sk_test_..."),
        ("stripeWebhookSecret", _STRIPE_WEBHOOK_SECRET, "whsec_..."),
    ):
        value = config.get_secret(key)
        if value is None:
            raise SettingsError(
                f"config ecommerce:{key} is required (payments through Stripe): "
                f"pulumi config set --secret {key} '{example}'"
            )
        plain = config.get(key)
        if plain is not None and not pattern.match(plain):
            raise SettingsError(f"config ecommerce:{key} does not look like a Stripe {example} value")
        found.append(value)
    return found[0], found[1]


def _stripe_publishable_key(config: pulumi.Config) -> str:
    """``stripePublishableKey``: required, plain, ``pk_test_``/``pk_live_``, in the secret key's mode."""
    key = "stripePublishableKey"
    value = config.get(key)
    if not value:
        raise SettingsError(
            f"config ecommerce:{key} is required (the storefront's Stripe.js): "
            f"pulumi config set {key} 'pk_test_...' (Stripe dashboard, Developers > API keys)"
        )
    if not re.match(STRIPE_PUBLISHABLE_KEY_PATTERN, value):
        # Not echoed: a secret key pasted here by mistake must not reach the log.
        raise SettingsError(
            f"config ecommerce:{key} does not look like a Stripe publishable key (pk_test_... or pk_live_...)"
        )
    secret_key = config.get("stripeSecretKey")
    if secret_key is not None:
        secret_mode = secret_key.split("_")[1]
        mode = value.split("_")[1]
        if mode != secret_mode:
            raise SettingsError(
                f"config ecommerce:{key} is a {mode}-mode key but ecommerce:stripeSecretKey is a "
                f"{secret_mode}-mode key: use the pair from the same Stripe mode"
            )
    return value


def profile_table() -> list[dict[str, Any]]:
    """The profile values as rows (used by the docs test that keeps ARCHITECTURE.md honest)."""
    return [{"environment": env, **dataclasses.asdict(p)} for env, p in PROFILES.items()]
