"""Cognito ID-token verification, the same code for API Gateway and ALB events.

Checks, in order (any failure raises :class:`TokenRejectedError` with a reason meant for our logs only;
callers answer a bare 401):

1. shape: at most :data:`MAX_TOKEN_BYTES`, three base64url segments, a JSON header;
2. header: ``alg`` is exactly RS256 (``none``, HS256 and everything else are refused before any
   key is looked at) and a ``kid`` is present;
3. key: the ``kid`` is in the pool's JWKS (fetched on first use, cached for the process; an
   unknown ``kid`` refetches the set at most once per :data:`MIN_REFRESH_SECONDS`, so a stream
   of forged kids cannot turn into a stream of fetches);
4. signature, by joserfc with RS256 as the only allowed algorithm;
5. claims: ``iss`` is the configured issuer, ``token_use`` is ``id``, ``aud`` is the storefront's
   client id, ``exp`` is in the future, ``iat`` not in the future (beyond
   :data:`CLOCK_SKEW_SECONDS`), ``sub`` present.

Why the ID token and not the access token: API Gateway's Cognito authorizer accepts ID tokens on
methods without OAuth scopes; the ID token names the app client in ``aud`` and carries the verified
e-mail (checkout takes the address from it, not from the request body); both carry
``cognito:groups``. The JWKS URL is derived from the issuer: ``<issuer>/.well-known/jwks.json``, or,
when the SDK's standard ``AWS_ENDPOINT_URL_COGNITO_IDP`` override is set, the same path below that
endpoint (how the moto server serves its pools' keys locally; nothing else differs).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shop.auth import Identity

if TYPE_CHECKING:
    from joserfc.jwk import RSAKey

ALGORITHM = "RS256"
MAX_TOKEN_BYTES = 8192
MIN_REFRESH_SECONDS = 60.0
# After a failed JWKS fetch, requests wait this long before the next attempt (and answer 503 meanwhile).
RETRY_AFTER_FAILURE_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 3.0
CLOCK_SKEW_SECONDS = 60
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenRejectedError(Exception):
    """The token is not acceptable. ``reason`` is for logs; never show it to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailableError(Exception):
    """The pool's JWKS could not be fetched (a dependency failure, not the caller's fault)."""


def jwks_url(issuer: str, endpoint_url: str | None = None) -> str:
    """Where the issuer publishes its signing keys."""
    if endpoint_url:
        pool_id = issuer.rsplit("/", 1)[-1]
        return f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return f"{issuer}/.well-known/jwks.json"


def http_get_json(url: str) -> Any:
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return json.loads(response.read(1_000_000))


class KeySet:
    """The pool's RSA signing keys by ``kid``, fetched lazily and refreshed on an unknown ``kid``."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], Any] = http_get_json,
        clock: Callable[[], float] = time.monotonic,
        min_refresh_seconds: float = MIN_REFRESH_SECONDS,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, RSAKey] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> RSAKey:
        with self._lock:
            found = self._keys.get(kid)
            if found is None and self._may_fetch():
                self._refresh()
                found = self._keys.get(kid)
        if found is None:
            raise TokenRejectedError("unknown_kid")
        return found

    def _may_fetch(self) -> bool:
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            raise KeysUnavailableError("the last JWKS fetch failed moments ago")
        return self._fetched_at is None or now - self._fetched_at >= self._min_refresh

    def _refresh(self) -> None:
        from joserfc.jwk import RSAKey

        self.fetches += 1
        try:
            document = self._fetch(self.url)
            entries = document["keys"]
            keys = {
                str(entry["kid"]): RSAKey.import_key(dict(entry))
                for entry in entries
                if isinstance(entry, dict)
                and entry.get("kty") == "RSA"
                and entry.get("use", "sig") == "sig"
                and entry.get("alg", ALGORITHM) == ALGORITHM
                and isinstance(entry.get("kid"), str)
            }
        except Exception as exc:
            self._failed_at = self._clock()
            raise KeysUnavailableError(f"JWKS fetch failed: {type(exc).__name__}") from None
        self._keys = keys
        self._fetched_at = self._clock()
        self._failed_at = None


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, checked for shape only (nothing in it is trusted yet)."""
    if len(token) > MAX_TOKEN_BYTES or not token.isascii():
        raise TokenRejectedError("malformed")
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.match(s) for s in segments):
        raise TokenRejectedError("malformed")
    try:
        header = _b64json(segments[0])
    except (ValueError, binascii.Error):
        raise TokenRejectedError("malformed") from None
    if not isinstance(header, dict):
        raise TokenRejectedError("malformed")
    return header


class Verifier:
    """Verifies ID tokens of one user pool and app client."""

    def __init__(self, issuer: str, client_id: str, keys: KeySet, clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.keys = keys
        self._clock = clock

    def verify(self, token: str) -> Identity:
        header = unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenRejectedError("algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejectedError("no_kid")
        key = self.keys.key(kid)
        claims = self._signed_claims(token, key)
        return self._identity(claims)

    @staticmethod
    def _signed_claims(token: str, key: RSAKey) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError):
            raise TokenRejectedError("signature") from None
        claims = decoded.claims
        if not isinstance(claims, dict):
            raise TokenRejectedError("claims")
        return claims

    def _identity(self, claims: dict[str, Any]) -> Identity:
        now = self._clock()
        if claims.get("iss") != self.issuer:
            raise TokenRejectedError("issuer")
        if claims.get("token_use") != "id":
            raise TokenRejectedError("token_use")
        audience = claims.get("aud")
        if audience != self.client_id and not (isinstance(audience, list) and audience == [self.client_id]):
            raise TokenRejectedError("audience")
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, int | float) or isinstance(expires, bool) or now >= expires:
            raise TokenRejectedError("expired")
        if not isinstance(issued, int | float) or isinstance(issued, bool) or issued > now + CLOCK_SKEW_SECONDS:
            raise TokenRejectedError("issued_in_future")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejectedError("no_sub")
        email = claims.get("email")
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise TokenRejectedError("groups")
        verified = claims.get("email_verified")
        return Identity(
            sub=sub,
            email=email if isinstance(email, str) else None,
            # A JSON boolean in Cognito's tokens; the moto server passes the attribute's text.
            email_verified=verified is True or verified == "true",
            groups=frozenset(groups),
        )
