"""Payments configuration: which SSM parameters hold the Stripe secrets, and where Stripe is.

The parameter *names* (and, locally, localstripe's URL) come from the environment (names in
``shop.declarations.Env``), parsed once per cold start. The *values* are read at call time from SSM
Parameter Store through Powertools Parameters, decrypted, and cached for
``STRIPE_PARAMETER_CACHE_SECONDS``: a rotated secret is picked up within that time without a
deploy. Locally the same code path reads the moto server's SSM (``AWS_ENDPOINT_URL_SSM``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shop.declarations import STRIPE_PARAMETER_CACHE_SECONDS, Env
from shop.lazy import Lazy
from shop.payments.errors import PaymentsNotConfiguredError, PaymentsUnavailableError


@dataclass(frozen=True)
class PaymentsSettings:
    secret_key_parameter: str | None
    webhook_secret_parameter: str | None
    # None: Stripe itself (https://api.stripe.com). Locally: localstripe's http://127.0.0.1:<port>.
    api_base: str | None
    cache_seconds: int = STRIPE_PARAMETER_CACHE_SECONDS


def parse(env: Mapping[str, str]) -> PaymentsSettings:
    """Settings from ``env``; PaymentsNotConfiguredError when a value is present but malformed."""
    api_base = env.get(Env.STRIPE_API_BASE, "").strip().rstrip("/") or None
    if api_base is not None:
        parts = urlsplit(api_base)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise PaymentsNotConfiguredError(f"{Env.STRIPE_API_BASE} must be an http(s) URL, got {api_base!r}")
    return PaymentsSettings(
        secret_key_parameter=env.get(Env.STRIPE_SECRET_KEY_PARAMETER, "").strip() or None,
        webhook_secret_parameter=env.get(Env.STRIPE_WEBHOOK_SECRET_PARAMETER, "").strip() or None,
        api_base=api_base,
    )


settings: Lazy[PaymentsSettings] = Lazy(lambda: parse(os.environ))


def _provider() -> Any:
    """Powertools' SSM provider over a boto3 client with short timeouts (an outage is a quick 503)."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return SSMProvider(boto3_client=boto3.client("ssm", config=config))


provider: Lazy[Any] = Lazy(_provider)


def secret(env_name: Env, parameter: str | None, max_age: int) -> str:
    """The decrypted value of SSM parameter ``parameter`` (named by ``env_name``), cached ``max_age`` s."""
    if not parameter:
        raise PaymentsNotConfiguredError(f"environment variable {env_name} is not set")
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        # max_age 0 means "no cache" here (Powertools would take 0 as "use the default").
        value = provider().get(parameter, max_age=max(max_age, 1), decrypt=True, force_fetch=max_age <= 0)
    except GetParameterError as error:
        # Not found, access denied or unreachable: the message names the parameter, not its value.
        raise PaymentsUnavailableError(
            f"cannot read SSM parameter {parameter}: {type(error.__cause__).__name__}"
        ) from error
    if not isinstance(value, str) or not value.strip():
        raise PaymentsNotConfiguredError(f"SSM parameter {parameter} is empty")
    return value.strip()


def reset() -> None:
    """Forget parsed settings, the SSM client and cached values (tests; Lambda never needs it)."""
    settings.reset()
    provider.reset()
