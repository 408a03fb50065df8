"""Declarations shared by the Pulumi program (infra/) and the shop (src/shop).

Everything that both sides must agree on lives here exactly once: DynamoDB key
schemas, environment variable names, the API's routes and path prefix. The
infrastructure imports this module to create tables, environment variables and
API Gateway resources; the application imports it to read them. This module
must stay dependency-free (standard library only) so that importing it from
the Lambda handler costs nothing at cold start and never pulls in Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

PROJECT = "ecommerce"
SERVICE_NAME = "ecommerce-api"
METRICS_NAMESPACE = "Ecommerce"

# Every API route lives below this prefix, on every entry point: CloudFront
# forwards /api/* to the ALB, API Gateway exposes the same paths under its
# stage, and the local platform serves them at the same place.
API_PREFIX = "/api"
HEALTH_PATH = f"{API_PREFIX}/health"
ADMIN_PREFIX = f"{API_PREFIX}/admin"

# Headers with meaning across the platform.
REQUEST_ID_HEADER = "X-Request-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
API_KEY_HEADER = "x-api-key"
# The secret issued with an order at checkout; required to read the order back.
ORDER_TOKEN_HEADER = "X-Order-Token"
# The header that carries the signed-in customer's Cognito ID token (bare, or "Bearer <token>"),
# on every entry point. Not Authorization: on dev and staging the edge function requires HTTP Basic
# credentials there for the whole storefront and strips the header before the origin.
ID_TOKEN_HEADER = "X-Id-Token"
PERSONAL_CACHE_CONTROL = "no-store"


# Payments (shop.payments): the webhook endpoint Stripe posts events to (the route is declared with
# the others when it exists), the SSM parameters holding the Stripe secrets (logical names, made
# physical with ``physical_name``), and how long the function keeps a parameter it has read.
STRIPE_WEBHOOK_PATH = f"{API_PREFIX}/webhooks/stripe"
# The local platform's mailbox (``make dev`` only): the e-mails moto's SES accepted. No CloudFront
# behaviour, edge rule or storefront file serves it (tests/app/test_local_mail.py).
LOCAL_MAIL_PATH = "/_local/mail"
STRIPE_SIGNATURE_HEADER = "Stripe-Signature"
STRIPE_SECRET_KEY_PARAMETER = "stripe-secret-key"
STRIPE_WEBHOOK_SECRET_PARAMETER = "stripe-webhook-secret"
STRIPE_PARAMETER_CACHE_SECONDS = 300
# A webhook whose signed timestamp is older (or newer) than this is refused (Stripe's default too).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class StripeOrigins:
    """The origins the storefront's Stripe.js needs, as CSP source lists.

    ``script``: where Stripe.js is loaded from; ``connect``: the API it calls from the browser;
    ``frame``: the iframes it opens (card fields, 3-D Secure).
    """

    script: tuple[str, ...]
    connect: tuple[str, ...]
    frame: tuple[str, ...]


# In AWS: Stripe's own origins (Stripe.js docs, "Content Security Policy").
STRIPE_ORIGINS = StripeOrigins(
    script=("https://js.stripe.com",),
    connect=("https://api.stripe.com",),
    frame=("https://js.stripe.com", "https://hooks.stripe.com"),
)
# The path localstripe serves its Stripe.js stand-in at (the storefront loads <origin><path>).
LOCALSTRIPE_JS_PATH = "/js.stripe.com/v3/"
# Where the storefront loads Stripe.js from in AWS (its origin is STRIPE_ORIGINS.script); locally
# ``make dev`` sets Env.STRIPE_JS_URL to localstripe's origin + LOCALSTRIPE_JS_PATH.
STRIPE_JS_URL = "https://js.stripe.com/v3/"
# What a Stripe publishable key looks like (test or live mode; the browser's key, not a secret).
STRIPE_PUBLISHABLE_KEY_PATTERN = r"^pk_(test|live)_[A-Za-z0-9_]+$"
# How long browsers may keep GET /api/storefront-config (public, the same for everyone).
STOREFRONT_CONFIG_MAX_AGE_SECONDS = 300


def local_stripe_origins(origin: str) -> StripeOrigins:
    """Locally: localstripe at ``origin`` (``http://127.0.0.1:<port>``) serves Stripe.js and the API."""
    return StripeOrigins(script=(origin,), connect=(origin,), frame=(origin,))


def storefront_content_security_policy(stripe: StripeOrigins, connect: tuple[str, ...] = ()) -> str:
    """The storefront's Content-Security-Policy, admitting exactly ``stripe``'s origins.

    The storefront is one page with its own script and stylesheet calling /api on the same origin;
    product images may come from any HTTPS host; Stripe.js comes from ``stripe``. ``connect``: the
    other origins the pages call (the back office: Cognito's API and the image bucket's endpoint).
    """

    def sources(*extra: str) -> str:
        return " ".join(("'self'", *extra))

    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {sources(*stripe.script)}",
            "style-src 'self'",
            "img-src 'self' https: data:",
            f"connect-src {sources(*stripe.connect, *connect)}",
            f"frame-src {' '.join(stripe.frame)}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def cognito_origin(region: str) -> str:
    """Where the browser calls Cognito's JSON API (sign-in) in ``region``."""
    return f"https://cognito-idp.{region}.amazonaws.com"


def media_upload_origin(bucket: str, region: str) -> str:
    """Where the back office posts images: the bucket's regional virtual-hosted endpoint (the
    function presigns for exactly this endpoint, see shop.domain.back_office)."""
    return f"https://{bucket}.s3.{region}.amazonaws.com"


# Security headers every storefront response carries: CloudFront's response headers policy sets
# them in AWS (infra/components/cdn.py, with Stripe's origins), the local gateway sets them on one
# machine (with localstripe's, see ``GatewayConfig.content_security_policy``).
STOREFRONT_CONTENT_SECURITY_POLICY = storefront_content_security_policy(STRIPE_ORIGINS)
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600
# What API Gateway's own error answers carry (its gateway responses; partners call it directly,
# without CloudFront's response headers policy). No value holds a single quote: API Gateway writes
# a static header value as '<value>' and has no escape for one (so no CSP here; a JSON error body
# loads nothing, and X-Frame-Options and nosniff cover framing and sniffing).
API_ERROR_HEADERS: Mapping[str, str] = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": FRAME_OPTIONS,
    "Referrer-Policy": REFERRER_POLICY,
}


def physical_name(logical: str, suffix: str) -> str:
    """The physical-name rule every AWS resource and local stand-in follows: ``ecommerce-<x>-<suffix>``."""
    return f"{PROJECT}-{logical}-{suffix}"


# The platform's error body, on every entry point (API function, ALB fixed responses, API Gateway
# gateway responses, the edge function, the local gateway): {"error": {code, message, details}}.
# ``details`` is always a JSON object ({} when there is nothing to add); a ``validation_error``
# lists its problems under ``details.errors`` (location, type and message of each).
def error_body(code: str, message: str, details: Mapping[str, object] | None = None) -> dict[str, object]:
    if details is not None and not isinstance(details, Mapping):
        raise TypeError(f"error details must be a mapping, not {type(details).__name__}")
    return {"error": {"code": code, "message": message, "details": dict(details) if details else {}}}


def error_json(code: str, message: str, details: Mapping[str, object] | None = None) -> str:
    """``error_body`` serialised compactly (fixed responses, templates)."""
    import json

    return json.dumps(error_body(code, message, details), separators=(",", ":"))


# API Gateway's own answers (it never calls the function for these): each is a gateway response
# whose template renders the error body above (infra/components/api_gateway.py). ``status`` None
# keeps the status API Gateway chose (the DEFAULT_4XX/DEFAULT_5XX catch-alls). ``message`` is
# fixed text, or ``$context.error.message`` for the catch-alls: API Gateway's own fixed English
# phrases ("Forbidden", "Unsupported Media Type"), which hold no quote or backslash.
# See the API Gateway Developer Guide, "Gateway response types".
@dataclass(frozen=True)
class GatewayResponse:
    type: str
    status: int | None
    code: str
    message: str
    details: Mapping[str, object] = field(default_factory=dict)


API_GATEWAY_ERROR_MESSAGE = "$context.error.message"
GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    # A body failing its model (the request validator): the function's 422 shape, at 400.
    GatewayResponse("BAD_REQUEST_BODY", 400, "validation_error", API_GATEWAY_ERROR_MESSAGE, {"errors": []}),
    GatewayResponse("BAD_REQUEST_PARAMETERS", 400, "bad_request", "a required request parameter is missing or invalid"),
    # The Cognito authorizer refused the ID token (missing, expired, forged): the function's own 401.
    GatewayResponse("UNAUTHORIZED", 401, "unauthorized", "sign-in required"),
    GatewayResponse("ACCESS_DENIED", 403, "forbidden", "access denied"),
    # No such resource or method on the REST API (API Gateway answers 403 for unknown paths).
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 403, "forbidden", "no such resource, or no API key"),
    GatewayResponse("INVALID_API_KEY", 403, "forbidden", "the API key is missing or not valid"),
    GatewayResponse("EXPIRED_TOKEN", 403, "forbidden", "the credentials have expired"),
    GatewayResponse("INVALID_SIGNATURE", 403, "forbidden", "the request signature is not valid"),
    GatewayResponse("WAF_FILTERED", 403, "forbidden", "the request was blocked"),
    GatewayResponse("REQUEST_TOO_LARGE", 413, "request_too_large", "the request is too large"),
    GatewayResponse("UNSUPPORTED_MEDIA_TYPE", 415, "unsupported_media_type", "send the body as application/json"),
    # The stage's or the usage plan's rate limit, and the plan's daily quota.
    GatewayResponse("THROTTLED", 429, "too_many_requests", "too many requests; retry later"),
    GatewayResponse("QUOTA_EXCEEDED", 429, "quota_exceeded", "the API key's request quota is used up"),
    GatewayResponse("INTEGRATION_TIMEOUT", 504, "gateway_timeout", "the API did not answer in time"),
    GatewayResponse("INTEGRATION_FAILURE", 502, "bad_gateway", "the API could not be reached"),
    GatewayResponse("DEFAULT_4XX", None, "bad_request", API_GATEWAY_ERROR_MESSAGE),
    GatewayResponse("DEFAULT_5XX", None, "internal_error", API_GATEWAY_ERROR_MESSAGE),
)


# A client-supplied X-Request-Id is kept when it matches this rule (API function and edge function
# alike); otherwise a fresh one is generated. It must start with a letter or digit.
REQUEST_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"

# CORS, for the API function and API Gateway's preflight alike. Header names as browsers send them
# in Access-Control-Request-Headers (case-insensitive); the API key header is for partners on API
# Gateway only and is not needed by the storefront, but admitting it costs nothing and keeps the
# two entry points identical.
CORS_ALLOW_HEADERS: tuple[str, ...] = (
    "Content-Type",
    "Authorization",
    IDEMPOTENCY_HEADER,
    ORDER_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    API_KEY_HEADER,
    ID_TOKEN_HEADER,
)
CORS_EXPOSE_HEADERS: tuple[str, ...] = (REQUEST_ID_HEADER,)
CORS_MAX_AGE_SECONDS = 600

# Defaults the function uses when its environment does not override them, in AWS and locally.
CART_TTL_SECONDS = 7 * 24 * 3600  # a cart lives a week after its last change
# A cart line holds at most this many of one product (the API's request models, and the cart merge's cap).
CART_LINE_MAX_QUANTITY = 99
CACHE_TTL_SECONDS = 60  # catalog read-through cache entries
# A pending_payment order not paid within this window is cancelled and its stock released (issue 12).
PAYMENT_WINDOW_SECONDS = 30 * 60
# How often the expiry job runs (EventBridge Scheduler in AWS, a thread of ``make dev`` locally).
EXPIRY_INTERVAL_SECONDS = 300

# The order lifecycle (issue 12). The database holds the same pairs (table order_transitions, migration
# 0004) and refuses any other change of status; tests/app/test_lifecycle.py keeps the two equal.
ORDER_STATES: tuple[str, ...] = ("pending_payment", "paid", "fulfilled", "cancelled", "refunded", "partially_refunded")
ORDER_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("pending_payment", "paid"),
        ("pending_payment", "cancelled"),
        ("paid", "fulfilled"),
        ("paid", "refunded"),
        ("paid", "partially_refunded"),
        ("paid", "cancelled"),
    }
)

# The shop's database: its name and port, for Aurora/RDS Proxy, the security groups and the
# embedded PostgreSQL alike.
DB_NAME = "shop"
DB_PORT = 5432
# The role the API signs in as: DML on the shop's tables, no DDL (migration 0003 creates it).
# Migrations sign in as the cluster's master user (infra/components/database.py), locally the
# embedded server's superuser.
DB_APP_USER = "shop_app"


# Timeouts nest, from the inside out (ARCHITECTURE.md "Timeouts and retry budgets"): every client
# call gives up within its budget, a request whose dependency hangs answers 503 well inside the
# function's timeout, and the function's timeout is below API Gateway's 29 s integration limit (and
# the ALB's 60 s idle timeout), so the caller always gets the platform's JSON error, never a gateway's.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29  # REST API integration timeout (default and maximum)
ALB_IDLE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ClientBudget:
    """How long one call to a dependency may take before it fails, retries included."""

    connect_seconds: float
    read_seconds: float  # per attempt: socket read (DynamoDB) or statement_timeout (PostgreSQL)
    attempts: int  # total attempts, the first one included
    backoff_seconds: float = 0.0  # the most all retries' back-off sleeps add up to

    @property
    def worst_case_seconds(self) -> float:
        return self.attempts * (self.connect_seconds + self.read_seconds) + self.backoff_seconds


# boto3 (botocore standard retry mode: one retry, its jittered back-off at most 1 s).
DYNAMODB_BUDGET = ClientBudget(connect_seconds=1, read_seconds=2, attempts=2, backoff_seconds=1)
# psycopg: connect_timeout and statement_timeout; a broken reused connection is retried once
# (shop.db.connection.run).
DATABASE_BUDGET = ClientBudget(connect_seconds=3, read_seconds=5, attempts=2)
# The API function's timeout: above one failing DynamoDB call plus one failing database call in the
# same request, below API Gateway's limit.
FUNCTION_TIMEOUT_SECONDS = 28
# The deep health check probes each store once, within this budget.
HEALTH_PROBE_BUDGET = ClientBudget(connect_seconds=2, read_seconds=2, attempts=1)
HEALTH_DEEP_PARAM = "deep"


class Env(StrEnum):
    """Names of the environment variables the API function reads (once per cold start, in ``shop.config``)."""

    ENVIRONMENT = "ECOMMERCE_ENVIRONMENT"
    SESSIONS_TABLE = "SESSIONS_TABLE"
    CACHE_TABLE = "CACHE_TABLE"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    # In AWS: RDS Proxy endpoints, IAM authentication, database name and user.
    DB_WRITER_HOST = "DB_WRITER_HOST"
    DB_READER_HOST = "DB_READER_HOST"
    DB_PORT = "DB_PORT"
    DB_NAME = "DB_NAME"
    DB_USER = "DB_USER"
    DB_IAM_AUTH = "DB_IAM_AUTH"
    # The migration function without a proxy (dev): the cluster's managed master secret.
    DB_SECRET_ARN = "DB_SECRET_ARN"
    # Locally: plain libpq connection strings instead of host/IAM settings.
    DATABASE_URL = "DATABASE_URL"
    DATABASE_READER_URL = "DATABASE_READER_URL"
    CACHE_TTL_SECONDS = "CACHE_TTL_SECONDS"
    CART_TTL_SECONDS = "CART_TTL_SECONDS"
    CORS_ALLOW_ORIGIN = "CORS_ALLOW_ORIGIN"
    LOG_LEVEL = "LOG_LEVEL"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    # Read by pydantic itself (see LIBRARY_ENVIRONMENT).
    PYDANTIC_DISABLE_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
    # Customer accounts (Cognito user pool): the token verifier's pool, app client and issuer.
    COGNITO_USER_POOL_ID = "COGNITO_USER_POOL_ID"
    COGNITO_CLIENT_ID = "COGNITO_CLIENT_ID"
    COGNITO_ISSUER = "COGNITO_ISSUER"
    # The order-token secret (HMAC key): in AWS the name of an SSM SecureString parameter, locally a
    # file in the data directory (mode 0600). Exactly one of the two is set.
    ORDER_TOKEN_SECRET_PARAMETER = "ORDER_TOKEN_SECRET_PARAMETER"
    ORDER_TOKEN_SECRET_FILE = "ORDER_TOKEN_SECRET_FILE"
    # Seconds a pending_payment order keeps its stock (default PAYMENT_WINDOW_SECONDS).
    PAYMENT_WINDOW_SECONDS = "PAYMENT_WINDOW_SECONDS"
    # Payments: the names of the SSM parameters holding the Stripe secret key and webhook secret
    # (read at call time, cached STRIPE_PARAMETER_CACHE_SECONDS), and, locally, localstripe's URL.
    STRIPE_SECRET_KEY_PARAMETER = "STRIPE_SECRET_KEY_PARAMETER"
    STRIPE_WEBHOOK_SECRET_PARAMETER = "STRIPE_WEBHOOK_SECRET_PARAMETER"
    STRIPE_API_BASE = "STRIPE_API_BASE"
    # Product images (the back office's presigned uploads): the bucket (the static bucket, under
    # MEDIA_PREFIX) and, in AWS, the KMS key every upload must be encrypted with.
    MEDIA_BUCKET = "MEDIA_BUCKET"
    MEDIA_KMS_KEY_ID = "MEDIA_KMS_KEY_ID"
    # The storefront's Stripe.js settings (GET /api/storefront-config): the publishable key (plain
    # stack config) and, locally only, where Stripe.js is loaded from (default STRIPE_JS_URL).
    STRIPE_PUBLISHABLE_KEY = "STRIPE_PUBLISHABLE_KEY"
    # The back office on API Gateway (ARCHITECTURE.md "Admin and staff"): the name of the SSM
    # SecureString holding the back-office API key's value (the authorizer reads it), and that key's
    # id (the API function: a request API Gateway metered on it was admitted by a token, not a key).
    BACK_OFFICE_API_KEY_PARAMETER = "BACK_OFFICE_API_KEY_PARAMETER"
    BACK_OFFICE_API_KEY_ID = "BACK_OFFICE_API_KEY_ID"
    STRIPE_JS_URL = "STRIPE_JS_URL"
    # Events and e-mail (issue 14): the bus the relay publishes to; the notifier's SES sender.
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    SENDER_EMAIL = "SENDER_EMAIL"
    STOREFRONT_URL = "STOREFRONT_URL"


# Settings of the libraries the API function runs, the same in AWS and locally. pydantic looks
# for plugins (every installed distribution's entry points) the first time it builds a validator,
# which Powertools does at import: the shop uses none, so the function skips that scan at cold start.
LIBRARY_ENVIRONMENT: Mapping[str, str] = {Env.PYDANTIC_DISABLE_PLUGINS: "__all__"}


AttributeType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Attribute:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    hash_key: Attribute
    range_key: Attribute | None = None
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table as both sides see it.

    ``logical`` is the short name used in physical names
    (``ecommerce-<logical>-<suffix>``); ``env`` is the variable through which
    the function learns the physical name.
    """

    logical: str
    env: Env
    hash_key: Attribute
    range_key: Attribute | None = None
    ttl_attribute: str | None = None
    indexes: tuple[GlobalIndex, ...] = field(default_factory=tuple)

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        """Every attribute that appears in a key schema (table or index), once."""
        seen: dict[str, Attribute] = {}
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        for attr in keys:
            if attr is not None:
                seen.setdefault(attr.name, attr)
        return tuple(seen.values())


# Carts (one item per cart session), expiring through TTL.
SESSIONS_TABLE = TableSpec(
    logical="sessions",
    env=Env.SESSIONS_TABLE,
    hash_key=Attribute("session_id"),
    ttl_attribute="expires_at",
)

# Read-through cache for hot catalog reads, expiring through TTL.
CACHE_TABLE = TableSpec(
    logical="cache",
    env=Env.CACHE_TABLE,
    hash_key=Attribute("cache_key"),
    ttl_attribute="expires_at",
)

# Powertools idempotency records (its default attribute names).
IDEMPOTENCY_TABLE = TableSpec(
    logical="idempotency",
    env=Env.IDEMPOTENCY_TABLE,
    hash_key=Attribute("id"),
    ttl_attribute="expiration",
)

TABLES: tuple[TableSpec, ...] = (SESSIONS_TABLE, CACHE_TABLE, IDEMPOTENCY_TABLE)


# public: anyone; customer: a signed-in customer's Cognito ID token (API Gateway's Cognito
# authorizer, and the function's own verifier); admin and staff: the back office (ARCHITECTURE.md
# "Admin and staff"): the partner API key on API Gateway, or an ID token whose groups include one
# of ``ACCESS_GROUPS[access]`` on every entry point (the function verifies token and group).
Access = Literal["public", "customer", "admin", "staff"]
BACK_OFFICE_ACCESS: tuple[Access, ...] = ("admin", "staff")

# What API Gateway's back-office authorizer (shop.auth.authorizer) puts in ``requestContext.authorizer``:
# which credential admitted the caller (a client cannot write requestContext), and for a token the
# caller's ``sub`` and groups (comma-separated: authorizer context values are strings).
AUTHORIZER_ADMITTED_BY = "admittedBy"
ADMITTED_BY_API_KEY = "api_key"
ADMITTED_BY_TOKEN = "id_token"
AUTHORIZER_SUB = "sub"
AUTHORIZER_GROUPS = "groups"

# Cognito groups with a meaning to the API: admin may do every admin operation, staff may fulfil
# orders but not change the catalog or prices.
ADMIN_GROUP = "admin"
STAFF_GROUP = "staff"
USER_GROUPS: tuple[str, ...] = (ADMIN_GROUP, STAFF_GROUP)
# The groups whose tokens a back-office route admits: admin may do everything, staff reads and
# fulfils orders but never changes the catalog, prices or stock, and never refunds.
ACCESS_GROUPS: Mapping[str, tuple[str, ...]] = {
    "admin": (ADMIN_GROUP,),
    "staff": (ADMIN_GROUP, STAFF_GROUP),
}
# The user pool's rules, for the deployed pool (infra/components/identity.py) and the local one
# (shop.local.services) alike: passwords of 12+ characters with all four classes; the storefront's
# client signs in with USER_PASSWORD_AUTH and refreshes with REFRESH_TOKEN_AUTH (ARCHITECTURE.md).
PASSWORD_MIN_LENGTH = 12
USER_POOL_AUTH_FLOWS: tuple[str, ...] = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
ID_TOKEN_MINUTES = 60
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30


@dataclass(frozen=True)
class Route:
    """One API operation. ``body`` names the request model for write endpoints."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    operation: str
    access: Access = "public"
    body: str | None = None
    # Carries personal data (a cart, an order, an e-mail address): answered with
    # ``Cache-Control: PERSONAL_CACHE_CONTROL``, errors included, so no browser or proxy keeps a copy.
    personal: bool = False
    query: tuple[str, ...] = ()  # query parameters the operation reads (all optional)
    # Public and the same for every caller: a 2xx answer carries ``Cache-Control: public,
    # max-age=<max_age>`` (never together with ``personal``).
    max_age: int | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None and (self.personal or self.access != "public" or self.method != "GET"):
            raise ValueError(f"route {self.operation}: only a public, non-personal GET may be cached")


def is_back_office(route: Route) -> bool:
    """An admin or staff route: API key (API Gateway) or a token with the group (every entry point)."""
    return route.access in BACK_OFFICE_ACCESS


def back_office_route(method: str, resource: str) -> Route | None:
    """The back-office route declared for ``method`` on the API Gateway resource path ``resource``
    (``/api/admin/products/{product_id}``), or None."""
    for route in ROUTES:
        if route.method == method and route.path == resource and is_back_office(route):
            return route
    return None


def served_behind_cloudfront(route: Route) -> bool:
    """Whether CloudFront -> ALB serves ``route`` (the edge forwards it): every route. Customer and
    back-office routes need a token there (the edge forwards /api/admin/* only with one, the
    function verifies it and its groups); the API key is accepted on API Gateway only."""
    return route.access in ("public", "customer", *BACK_OFFICE_ACCESS)


# GET /api/products: search text, category filter, sort, page size, and the cursor of the last page.
CATALOG_QUERY: tuple[str, ...] = ("q", "category", "sort", "limit", "cursor")

ROUTES: tuple[Route, ...] = (
    Route("GET", f"{API_PREFIX}/health", "health", query=(HEALTH_DEEP_PARAM,)),
    Route("GET", f"{API_PREFIX}/products", "list_products", query=CATALOG_QUERY),
    Route("GET", f"{API_PREFIX}/categories", "list_categories"),
    Route("GET", f"{API_PREFIX}/products/{{product_id}}", "get_product"),
    Route("POST", f"{API_PREFIX}/carts", "create_cart", personal=True),
    Route("GET", f"{API_PREFIX}/carts/{{cart_id}}", "get_cart", personal=True),
    Route(
        "PUT",
        f"{API_PREFIX}/carts/{{cart_id}}/items/{{product_id}}",
        "put_cart_item",
        body="CartItemUpdate",
        personal=True,
    ),
    Route("DELETE", f"{API_PREFIX}/carts/{{cart_id}}/items/{{product_id}}", "delete_cart_item", personal=True),
    Route("POST", f"{API_PREFIX}/checkout", "checkout", body="CheckoutRequest", personal=True),
    Route("GET", f"{API_PREFIX}/orders/{{order_id}}", "get_order", personal=True),
    Route("POST", f"{API_PREFIX}/orders/{{order_id}}/cancel", "cancel_order", personal=True),
    Route("GET", f"{API_PREFIX}/shipping-rates", "list_shipping_rates"),
    Route("POST", STRIPE_WEBHOOK_PATH, "stripe_webhook"),
    Route("GET", f"{API_PREFIX}/storefront-config", "get_storefront_config", max_age=STOREFRONT_CONFIG_MAX_AGE_SECONDS),
    Route("GET", f"{API_PREFIX}/me", "get_me", access="customer", personal=True),
    Route(
        "GET", f"{API_PREFIX}/me/orders", "list_my_orders", access="customer", personal=True, query=("limit", "cursor")
    ),
    Route("POST", f"{ADMIN_PREFIX}/products", "create_product", access="admin", body="ProductCreate"),
    Route("PUT", f"{ADMIN_PREFIX}/products/{{product_id}}", "update_product", access="admin", body="ProductUpdate"),
    Route("PUT", f"{ADMIN_PREFIX}/products/{{product_id}}/stock", "set_stock", access="admin", body="StockUpdate"),
    Route("POST", f"{API_PREFIX}/me/cart", "merge_my_cart", access="customer", body="CartMerge", personal=True),
    Route(
        "POST",
        f"{ADMIN_PREFIX}/orders/{{order_id}}/fulfilment",
        "fulfil_order",
        access="staff",
        body="Fulfilment",
        personal=True,
    ),
    Route(
        "POST",
        f"{ADMIN_PREFIX}/orders/{{order_id}}/refunds",
        "refund_order",
        access="admin",
        body="RefundRequest",
        personal=True,
    ),
    Route("POST", f"{ADMIN_PREFIX}/orders/{{order_id}}/cancel", "admin_cancel_order", access="admin", personal=True),
    Route(
        "GET",
        f"{ADMIN_PREFIX}/orders",
        "list_admin_orders",
        access="staff",
        personal=True,
        query=("status", "created_from", "created_to", "q", "limit", "cursor"),
    ),
    Route("GET", f"{ADMIN_PREFIX}/orders/{{order_id}}", "get_admin_order", access="staff", personal=True),
    Route("GET", f"{ADMIN_PREFIX}/products", "list_admin_products", access="staff", query=("limit", "cursor")),
    Route("POST", f"{ADMIN_PREFIX}/products/{{product_id}}/archive", "archive_product", access="admin"),
    Route(
        "POST",
        f"{ADMIN_PREFIX}/products/{{product_id}}/image-upload",
        "create_image_upload",
        access="admin",
        body="ImageUploadRequest",
    ),
)


# Product images: uploaded by the back office straight to S3 with a presigned POST (the policy limits
# size and content type and, in AWS, requires the stack's KMS key) under MEDIA_PREFIX of the static
# bucket; CloudFront serves them at the same path (behaviour MEDIA_PATH_PATTERN), the local gateway
# from the moto server's S3. A product keeps the object's key; its image_url is "/<key>".
MEDIA_PREFIX = "media"
MEDIA_PATH_PATTERN = f"/{MEDIA_PREFIX}/*"
IMAGE_CONTENT_TYPES: Mapping[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_UPLOAD_EXPIRES_SECONDS = 300
# products/<product id>/<32 hex>.<extension>, below MEDIA_PREFIX.
IMAGE_KEY_PATTERN = (
    rf"^{MEDIA_PREFIX}/products/[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}"
    r"/[0-9a-f]{32}\.(jpg|png|webp)$"
)


# Paths the edge firewall (AWS WAF on CloudFront, infra/components/waf.py) treats specially.
# Stripe posts payment events here; the firewall never rate-limits or blocks it (the endpoint
# verifies Stripe's signature instead).
STRIPE_WEBHOOK_PATH = f"{API_PREFIX}/webhooks/stripe"
CHECKOUT_PATH = f"{API_PREFIX}/checkout"
SIGN_IN_PATH = f"{API_PREFIX}/account/sign-in"
# Per-IP rate limits apply to requests whose path starts with one of these.
RATE_LIMITED_PATH_PREFIXES: tuple[str, ...] = (CHECKOUT_PATH, SIGN_IN_PATH)
