"""The API function's runtime configuration: read from the environment in one place, parsed and
validated once per cold start (names from ``shop.declarations.Env``).

A value that is present but malformed raises :class:`ConfigError` naming the variable; nothing falls
back silently. Absent optional values take the defaults declared in ``shop.declarations``. Whether
the database settings are complete is checked when a connection is first needed
(``shop.db.connection``), so the health check answers without them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shop.declarations import (
    CACHE_TTL_SECONDS,
    CART_TTL_SECONDS,
    DB_NAME,
    DB_PORT,
    METRICS_NAMESPACE,
    PAYMENT_WINDOW_SECONDS,
    SERVICE_NAME,
    STRIPE_JS_URL,
    STRIPE_PUBLISHABLE_KEY_PATTERN,
    Env,
    TableSpec,
)
from shop.lazy import Lazy

MIN_CART_TTL_SECONDS = 60
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A malformed environment variable (the message names it)."""


@dataclass(frozen=True)
class DatabaseSettings:
    iam_auth: bool
    writer_host: str | None
    reader_host: str | None
    port: int
    name: str
    user: str | None
    region: str
    url: str | None
    reader_url: str | None


@dataclass(frozen=True)
class AuthSettings:
    """The Cognito user pool whose ID tokens the API accepts (``shop.auth``). All None: no sign-in."""

    user_pool_id: str | None
    client_id: str | None
    issuer: str | None
    # The standard SDK endpoint override for cognito-idp (AWS_ENDPOINT_URL_COGNITO_IDP), if any:
    # where the issuer's JWKS is fetched from when Cognito is reached through another endpoint.
    endpoint_url: str | None

    @property
    def configured(self) -> bool:
        return bool(self.user_pool_id and self.client_id and self.issuer)


@dataclass(frozen=True)
class BrowserStripeSettings:
    """What the storefront's Stripe.js needs (public values): the publishable key (None: not
    configured, the storefront cannot take cards) and where Stripe.js is loaded from."""

    publishable_key: str | None = None
    js_url: str = STRIPE_JS_URL


@dataclass(frozen=True)
class Settings:
    environment: str | None
    tables: Mapping[str, str | None]  # env name of each table → physical name
    database: DatabaseSettings
    cache_ttl_seconds: int
    cart_ttl_seconds: int
    cors_allow_origin: str | None
    log_level: str
    service_name: str
    metrics_namespace: str
    tracing: bool
    auth: AuthSettings
    order_token_secret_parameter: str | None = None
    order_token_secret_file: str | None = None
    payment_window_seconds: int = PAYMENT_WINDOW_SECONDS
    # Product image uploads (the back office): bucket and, in AWS, the KMS key uploads must use.
    media_bucket: str | None = None
    media_kms_key_id: str | None = None
    browser_stripe: BrowserStripeSettings = BrowserStripeSettings()
    event_bus_name: str | None = None
    sender_email: str | None = None
    storefront_url: str | None = None
    # The back office on API Gateway: the back-office key's SSM parameter (the authorizer) and id
    # (the API function), both unset locally (no API Gateway).
    back_office_api_key_parameter: str | None = None
    back_office_api_key_id: str | None = None

    def table(self, spec: TableSpec) -> str:
        """Physical name of ``spec``'s table; ConfigError when its variable is not set."""
        name = self.tables.get(spec.env)
        if not name:
            raise ConfigError(f"environment variable {spec.env} is not set")
        return name


def _text(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _auth(env: Mapping[str, str]) -> AuthSettings:
    auth = AuthSettings(
        user_pool_id=_text(env, Env.COGNITO_USER_POOL_ID),
        client_id=_text(env, Env.COGNITO_CLIENT_ID),
        issuer=_text(env, Env.COGNITO_ISSUER),
        endpoint_url=_text(env, "AWS_ENDPOINT_URL_COGNITO_IDP"),
    )
    given = [auth.user_pool_id, auth.client_id, auth.issuer]
    if any(given) and not all(given):
        names = f"{Env.COGNITO_USER_POOL_ID}, {Env.COGNITO_CLIENT_ID} and {Env.COGNITO_ISSUER}"
        raise ConfigError(f"{names} must be set together")
    if auth.issuer is not None:
        if not auth.issuer.startswith("https://") or auth.issuer.endswith("/"):
            raise ConfigError(f"{Env.COGNITO_ISSUER} must be an https URL without a trailing /, got {auth.issuer!r}")
        if auth.issuer.rsplit("/", 1)[-1] != auth.user_pool_id:
            raise ConfigError(f"{Env.COGNITO_ISSUER} must end with the user pool id {auth.user_pool_id!r}")
    return auth


def _browser_stripe(env: Mapping[str, str]) -> BrowserStripeSettings:
    key = _text(env, Env.STRIPE_PUBLISHABLE_KEY)
    if key is not None and not re.match(STRIPE_PUBLISHABLE_KEY_PATTERN, key):
        # A publishable key is public, but a secret key pasted here by mistake must not be echoed.
        raise ConfigError(f"{Env.STRIPE_PUBLISHABLE_KEY} must be a Stripe publishable key (pk_test_... or pk_live_...)")
    js_url = _text(env, Env.STRIPE_JS_URL) or STRIPE_JS_URL
    if not re.match(r"^https?://[^/\s]+/\S*$", js_url):
        raise ConfigError(f"{Env.STRIPE_JS_URL} must be an http(s) URL, got {js_url!r}")
    return BrowserStripeSettings(publishable_key=key, js_url=js_url)


def parse(env: Mapping[str, str]) -> Settings:
    """Settings from ``env`` (``os.environ`` in the function); ConfigError on a malformed value."""
    database = DatabaseSettings(
        iam_auth=_bool(env, Env.DB_IAM_AUTH),
        writer_host=_text(env, Env.DB_WRITER_HOST),
        reader_host=_text(env, Env.DB_READER_HOST),
        port=_int(env, Env.DB_PORT, DB_PORT, minimum=1),
        name=_text(env, Env.DB_NAME) or DB_NAME,
        user=_text(env, Env.DB_USER),
        region=_text(env, "AWS_REGION") or _text(env, "AWS_DEFAULT_REGION") or "",
        url=_text(env, Env.DATABASE_URL),
        reader_url=_text(env, Env.DATABASE_READER_URL),
    )
    tables = {str(name): _text(env, name) for name in (Env.SESSIONS_TABLE, Env.CACHE_TABLE, Env.IDEMPOTENCY_TABLE)}
    return Settings(
        environment=_text(env, Env.ENVIRONMENT),
        tables=tables,
        database=database,
        cache_ttl_seconds=_int(env, Env.CACHE_TTL_SECONDS, CACHE_TTL_SECONDS, minimum=0),
        cart_ttl_seconds=_int(env, Env.CART_TTL_SECONDS, CART_TTL_SECONDS, minimum=MIN_CART_TTL_SECONDS),
        cors_allow_origin=_text(env, Env.CORS_ALLOW_ORIGIN),
        log_level=(_text(env, Env.LOG_LEVEL) or "INFO").upper(),
        service_name=_text(env, Env.POWERTOOLS_SERVICE_NAME) or SERVICE_NAME,
        metrics_namespace=_text(env, Env.POWERTOOLS_METRICS_NAMESPACE) or METRICS_NAMESPACE,
        # X-Ray only inside Lambda, and unless POWERTOOLS_TRACE_DISABLED says otherwise.
        tracing=not _bool(env, "POWERTOOLS_TRACE_DISABLED") and bool(_text(env, "AWS_LAMBDA_FUNCTION_NAME")),
        auth=_auth(env),
        order_token_secret_parameter=_text(env, Env.ORDER_TOKEN_SECRET_PARAMETER),
        order_token_secret_file=_text(env, Env.ORDER_TOKEN_SECRET_FILE),
        payment_window_seconds=_int(env, Env.PAYMENT_WINDOW_SECONDS, PAYMENT_WINDOW_SECONDS, minimum=1),
        media_bucket=_text(env, Env.MEDIA_BUCKET),
        media_kms_key_id=_text(env, Env.MEDIA_KMS_KEY_ID),
        browser_stripe=_browser_stripe(env),
        event_bus_name=_text(env, Env.EVENT_BUS_NAME),
        sender_email=_sender(env),
        storefront_url=_text(env, Env.STOREFRONT_URL),
        back_office_api_key_parameter=_text(env, Env.BACK_OFFICE_API_KEY_PARAMETER),
        back_office_api_key_id=_text(env, Env.BACK_OFFICE_API_KEY_ID),
    )


def _sender(env: Mapping[str, str]) -> str | None:
    value = _text(env, Env.SENDER_EMAIL)
    if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")):
        raise ConfigError(f"{Env.SENDER_EMAIL} must be an e-mail address, got {value!r}")
    return value


settings: Lazy[Settings] = Lazy(lambda: parse(os.environ))
"""The process's settings, parsed on first use (the first invocation) and then reused."""


def reload() -> Settings:
    """Parse the environment again (tests and the local platform change it; Lambda never does)."""
    settings.reset()
    return settings()
