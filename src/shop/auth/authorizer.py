"""API Gateway's REQUEST authorizer on the back-office methods: a partner API key *or* an ID token.

The REST API's ``apiKeySource`` is ``AUTHORIZER``: API Gateway takes the key it meters and checks
against the usage plans from this function's ``usageIdentifierKey``, not from the request. So:

- ``x-api-key`` present: Allow with that key as ``usageIdentifierKey``. API Gateway then validates
  it against its usage plans as before (an unknown or disabled key is still its 403, the partner
  plan's throttle and quota still apply). Context ``admittedBy=api_key``.
- else a valid ID token in ``X-Id-Token`` (the function's own :mod:`shop.auth.verifier`) whose groups
  admit the route's access (``ROUTES`` looked up from the event's resource and method,
  ``ACCESS_GROUPS``): Allow with the *back-office* key's value as ``usageIdentifierKey`` (its own
  usage plan; the value is read from an SSM SecureString, cached 5 minutes) and the caller's
  ``sub`` and groups in the context, ``admittedBy=id_token``. A valid token without the group:
  Deny (API Gateway's ACCESS_DENIED, 403).
- otherwise (no credential, a bad, expired or forged token, two values of one header): the
  ``Unauthorized`` error, which API Gateway answers 401 (UNAUTHORIZED). The signing keys being
  unreachable is an error of ours (API Gateway answers 500, AUTHORIZER_FAILURE).

The presented ``x-api-key`` equal to the back-office key's value is not taken as a partner key: it
goes down the token path. The API function checks again (``shop.api.routers.admin``): it verifies
the token itself and grants partner powers only to ``admittedBy=api_key`` with a key id that is not
the back-office key's. Results are never cached (``authorizerResultTtlInSeconds`` 0, see
ARCHITECTURE.md "Admin and staff"), so the policy names exactly the called method.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shop.declarations import (
    ACCESS_GROUPS,
    ADMITTED_BY_API_KEY,
    ADMITTED_BY_TOKEN,
    API_KEY_HEADER,
    AUTHORIZER_ADMITTED_BY,
    AUTHORIZER_GROUPS,
    AUTHORIZER_SUB,
    ID_TOKEN_HEADER,
    back_office_route,
)

if TYPE_CHECKING:
    from shop.auth import Identity

# The exact error message API Gateway maps to 401 for a Lambda authorizer.
UNAUTHORIZED = "Unauthorized"
BACK_OFFICE_KEY_MAX_AGE_SECONDS = 300

logger = logging.getLogger(__name__)


class UnauthorizedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(UNAUTHORIZED)
        self.reason = reason


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    try:
        return decide(event)
    except UnauthorizedError as rejected:
        logger.info("back-office request unauthorized", extra={"reason": rejected.reason})
        # A plain Exception with exactly this message: what API Gateway answers 401 for.
        raise Exception(UNAUTHORIZED) from None


def decide(event: Mapping[str, Any]) -> dict[str, Any]:
    """The authorizer's answer for ``event`` (UnauthorizedError: no valid credential)."""
    method_arn = str(event.get("methodArn") or "")
    route = back_office_route(str(event.get("httpMethod") or ""), str(event.get("resource") or ""))
    if route is None or not method_arn:
        return policy("Deny", "unknown", method_arn or "*", {})
    api_key = header(event, API_KEY_HEADER)
    if api_key is not None and not hmac.compare_digest(api_key, back_office_key()):
        return policy("Allow", "api-key", method_arn, {AUTHORIZER_ADMITTED_BY: ADMITTED_BY_API_KEY}, api_key)
    token = bearer(header(event, ID_TOKEN_HEADER))
    if token is None:
        raise UnauthorizedError("no_credential")
    identity = verified(token)
    context = {
        AUTHORIZER_ADMITTED_BY: ADMITTED_BY_TOKEN,
        AUTHORIZER_SUB: identity.sub,
        AUTHORIZER_GROUPS: ",".join(sorted(identity.groups)),
    }
    if not any(identity.in_group(group) for group in ACCESS_GROUPS[route.access]):
        return policy("Deny", identity.sub, method_arn, context)
    return policy("Allow", identity.sub, method_arn, context, back_office_key())


def policy(
    effect: str, principal: str, method_arn: str, context: Mapping[str, str], usage_key: str | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}],
        },
        "context": dict(context),
    }
    if usage_key is not None:
        answer["usageIdentifierKey"] = usage_key
    return answer


def header(event: Mapping[str, Any], name: str) -> str | None:
    """The one non-empty value of header ``name`` (case-insensitive); two values are refused."""
    wanted = name.lower()
    multi = event.get("multiValueHeaders") or {}
    values = [v for key, vs in multi.items() if key.lower() == wanted for v in (vs or [])]
    if len(values) > 1:
        raise UnauthorizedError("repeated_header")
    single = [v for key, v in (event.get("headers") or {}).items() if key.lower() == wanted]
    if len(single) > 1:
        raise UnauthorizedError("repeated_header")
    found = (single or values or [None])[0]
    return (found.strip() or None) if isinstance(found, str) else None


def bearer(raw: str | None) -> str | None:
    if raw is None:
        return None
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    return token or None


def verified(token: str) -> Identity:
    from shop.auth.requests import verifier
    from shop.auth.verifier import TokenRejectedError

    checker = verifier()
    if checker is None:
        raise UnauthorizedError("no_user_pool_configured")
    try:
        return checker.verify(token)
    except TokenRejectedError as rejected:
        raise UnauthorizedError(rejected.reason) from None


def back_office_key() -> str:
    """The back-office API key's value, from its SSM SecureString (cached 5 minutes)."""
    from shop.config import settings

    name = settings().back_office_api_key_parameter
    if not name:
        raise RuntimeError("BACK_OFFICE_API_KEY_PARAMETER is not set")
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(name, decrypt=True, max_age=BACK_OFFICE_KEY_MAX_AGE_SECONDS)
    if not isinstance(value, str) or not value:
        raise RuntimeError("the back-office API key parameter is empty")
    return value
