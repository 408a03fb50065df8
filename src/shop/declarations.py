"""Declarations shared by the Pulumi program (infra/) and the shop (src/shop).

Everything that both sides must agree on lives here exactly once: DynamoDB key
schemas, environment variable names, the API's routes and path prefix. The
infrastructure imports this module to create tables, environment variables and
API Gateway resources; the application imports it to read them. This module
must stay dependency-free (standard library only) so that importing it from
the Lambda handler costs nothing at cold start and never pulls in Pulumi.
"""

from __future__ import annotations

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


# Security headers every storefront response carries: CloudFront's response headers policy sets
# them in AWS (infra/components/cdn.py), the local gateway sets them on one machine. The storefront
# is one page with its own script and stylesheet calling /api on the same origin; product images
# may come from any HTTPS host.
STOREFRONT_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600


def physical_name(logical: str, suffix: str) -> str:
    """The physical-name rule every AWS resource and local stand-in follows: ``ecommerce-<x>-<suffix>``."""
    return f"{PROJECT}-{logical}-{suffix}"


# The platform's error body, on every entry point (API function, ALB fixed responses, API Gateway
# gateway responses, the edge function, the local gateway): {"error": {code, message, details}}.
# ``details`` is a JSON object ({} when there is nothing to add); the one exception is the API
# function's request-validation ``validation_error``, whose details are the list of problems
# (location, type, message of each).
def error_body(code: str, message: str, details: dict[str, object] | list[object] | None = None) -> dict[str, object]:
    if isinstance(details, list):
        return {"error": {"code": code, "message": message, "details": list(details)}}
    return {"error": {"code": code, "message": message, "details": dict(details) if details else {}}}


def error_json(code: str, message: str, details: dict[str, object] | None = None) -> str:
    """``error_body`` serialised compactly (fixed responses, templates)."""
    import json

    return json.dumps(error_body(code, message, details), separators=(",", ":"))


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
CACHE_TTL_SECONDS = 60  # catalog read-through cache entries

# The shop's database: its name and port, for Aurora/RDS Proxy, the security groups and the
# embedded PostgreSQL alike.
DB_NAME = "shop"
DB_PORT = 5432


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
    # Locally: plain libpq connection strings instead of host/IAM settings.
    DATABASE_URL = "DATABASE_URL"
    DATABASE_READER_URL = "DATABASE_READER_URL"
    CACHE_TTL_SECONDS = "CACHE_TTL_SECONDS"
    CART_TTL_SECONDS = "CART_TTL_SECONDS"
    CORS_ALLOW_ORIGIN = "CORS_ALLOW_ORIGIN"
    LOG_LEVEL = "LOG_LEVEL"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    # Customer accounts (Cognito user pool): the token verifier's pool, app client and issuer.
    COGNITO_USER_POOL_ID = "COGNITO_USER_POOL_ID"
    COGNITO_CLIENT_ID = "COGNITO_CLIENT_ID"
    COGNITO_ISSUER = "COGNITO_ISSUER"


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


# public: anyone; api_key: partners and admin tools on API Gateway; customer: a signed-in
# customer's Cognito ID token (API Gateway's Cognito authorizer, and the function's own verifier).
Access = Literal["public", "api_key", "customer"]

# Cognito groups with a meaning to the API: admin may do every admin operation, staff may fulfil
# orders but not change the catalog or prices.
ADMIN_GROUP = "admin"
STAFF_GROUP = "staff"
USER_GROUPS: tuple[str, ...] = (ADMIN_GROUP, STAFF_GROUP)
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


ROUTES: tuple[Route, ...] = (
    Route("GET", f"{API_PREFIX}/health", "health"),
    Route("GET", f"{API_PREFIX}/products", "list_products"),
    Route("GET", f"{API_PREFIX}/products/{{product_id}}", "get_product"),
    Route("POST", f"{API_PREFIX}/carts", "create_cart"),
    Route("GET", f"{API_PREFIX}/carts/{{cart_id}}", "get_cart"),
    Route("PUT", f"{API_PREFIX}/carts/{{cart_id}}/items/{{product_id}}", "put_cart_item", body="CartItemUpdate"),
    Route("DELETE", f"{API_PREFIX}/carts/{{cart_id}}/items/{{product_id}}", "delete_cart_item"),
    Route("POST", f"{API_PREFIX}/checkout", "checkout", body="CheckoutRequest"),
    Route("GET", f"{API_PREFIX}/orders/{{order_id}}", "get_order"),
    Route("GET", f"{API_PREFIX}/me", "get_me", access="customer"),
    Route("GET", f"{API_PREFIX}/me/orders", "list_my_orders", access="customer"),
    Route("POST", f"{ADMIN_PREFIX}/products", "create_product", access="api_key", body="ProductCreate"),
    Route("PUT", f"{ADMIN_PREFIX}/products/{{product_id}}", "update_product", access="api_key", body="ProductUpdate"),
    Route("PUT", f"{ADMIN_PREFIX}/products/{{product_id}}/stock", "set_stock", access="api_key", body="StockUpdate"),
)
