"""Who is calling: Cognito ID tokens verified by the function itself, on both entry points.

- :mod:`shop.auth.verifier`: one :class:`~shop.auth.verifier.Verifier` for API Gateway and ALB
  events alike: RS256 signature against the pool's JWKS (fetched on first use, cached, refetched
  on an unknown ``kid`` at most once a minute), issuer, audience (the storefront's app client),
  expiry and ``token_use == "id"``.
- :mod:`shop.auth.requests`: the bearer token of the current request, the signed-in customer,
  group checks (401 without a valid token, 403 without the group).

Importing this package costs nothing: the JOSE library and the HTTP client load when a token
first arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Identity"]


@dataclass(frozen=True)
class Identity:
    """The verified caller: the Cognito ``sub`` (stable user id), e-mail and groups."""

    sub: str
    email: str | None
    email_verified: bool
    groups: frozenset[str]

    def in_group(self, group: str) -> bool:
        return group in self.groups
