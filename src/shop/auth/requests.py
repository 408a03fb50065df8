"""The caller of the current request: its bearer token, the verified identity, group checks.

The token is the ID token in ``shop.declarations.ID_TOKEN_HEADER`` (the bare token, which is what
API Gateway's Cognito authorizer reads, or ``Bearer <token>``). It is never logged: a rejection logs only its reason.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from shop.api.errors import ForbiddenError, SignInUnavailableError, UnauthorizedError
from shop.auth import Identity
from shop.declarations import ID_TOKEN_HEADER

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

    from shop.auth.verifier import Verifier
    from shop.config import AuthSettings

# One message for every rejection: nothing that tells an attacker which check failed.
SIGN_IN_REQUIRED = "sign-in required"

_verifiers: dict[AuthSettings, Verifier] = {}
_lock = threading.Lock()


def verifier() -> Verifier | None:
    """The verifier for the configured pool (None when the function has no pool configured)."""
    from shop.config import settings

    auth = settings().auth
    if not auth.configured:
        return None
    with _lock:
        found = _verifiers.get(auth)
        if found is None:
            from shop.auth.verifier import KeySet, Verifier, jwks_url

            assert auth.issuer and auth.client_id  # configured
            found = _verifiers[auth] = Verifier(
                auth.issuer, auth.client_id, KeySet(jwks_url(auth.issuer, auth.endpoint_url))
            )
        return found


def bearer_token(event: BaseProxyEvent) -> str | None:
    raw = event.headers.get(ID_TOKEN_HEADER)  # Powertools' headers are case-insensitive
    if not raw:
        return None
    scheme, _, rest = raw.strip().partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw.strip()
    return token or None


def current_identity(event: BaseProxyEvent) -> Identity | None:
    """The verified caller, None without a token; UnauthorizedError for a token that fails any check."""
    token = bearer_token(event)
    if token is None:
        return None
    from shop.api import observability as obs
    from shop.auth.verifier import KeysUnavailableError, TokenRejectedError

    checker = verifier()
    if checker is None:
        obs.logger().warning("token rejected", extra={"reason": "no_user_pool_configured"})
        raise UnauthorizedError(SIGN_IN_REQUIRED)
    try:
        return checker.verify(token)
    except TokenRejectedError as rejected:
        obs.logger().info("token rejected", extra={"reason": rejected.reason})
        obs.count("TokensRejected")
        raise UnauthorizedError(SIGN_IN_REQUIRED) from None
    except KeysUnavailableError as exc:
        obs.logger().error("signing keys unavailable", extra={"error": str(exc)})
        obs.count("DependencyFailures")
        raise SignInUnavailableError("sign-in is unavailable; retry later") from None


def require_customer(event: BaseProxyEvent) -> Identity:
    """A signed-in caller: 401 without a valid token."""
    identity = current_identity(event)
    if identity is None:
        raise UnauthorizedError(SIGN_IN_REQUIRED)
    return identity


def require_group(event: BaseProxyEvent, *groups: str) -> Identity:
    """A signed-in caller in one of ``groups``: 401 without a valid token, 403 without the group."""
    identity = require_customer(event)
    if not any(identity.in_group(group) for group in groups):
        raise ForbiddenError("this operation needs another role")
    return identity
