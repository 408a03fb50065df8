"""Build-time configuration of the Lambda@Edge function.

Lambda@Edge has no environment variables, so the deployment renders this
configuration with :func:`render_config` and bakes the JSON text into the
function's zip as ``config.json``, next to ``handler.py``. At run time
:func:`load_config` reads it once per execution environment.

Standard library only, and no imports from outside this directory: the zip
contains nothing but the files of ``src/shop/edge/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILENAME = "config.json"
ENVIRONMENTS = ("dev", "staging", "prod")

# These mirror shop.declarations (which the zip cannot import);
# tests/app/test_edge.py checks that they stay equal.
HEALTH_PATH = "/api/health"
# Stripe cannot present the storefront credential: its webhook passes the edge without it
# (the API verifies Stripe's signature instead).
STRIPE_WEBHOOK_PATH = "/api/webhooks/stripe"
ADMIN_PREFIX = "/api/admin"
ID_TOKEN_HEADER = "X-Id-Token"
# The back office's page (storefront/admin/index.html in the static bucket).
BACK_OFFICE_PATH = "/admin/"
API_KEY_HEADER = "x-api-key"
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The platform's error body (mirror of ``shop.declarations.error_body``): details is an object."""
    if details is not None and not isinstance(details, Mapping):
        raise TypeError(f"error details must be a mapping, not {type(details).__name__}")
    return {"error": {"code": code, "message": message, "details": dict(details) if details else {}}}


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class EdgeConfig:
    """What the viewer-request function needs to know about its stack.

    ``basic_auth_sha256`` is the lowercase hex SHA-256 of ``"user:password"``;
    when it is set, every request except the health check must carry HTTP
    Basic credentials that hash to it.
    """

    environment: str
    basic_auth_sha256: str | None = None

    @property
    def require_auth(self) -> bool:
        return self.basic_auth_sha256 is not None


def _validate(environment: str, basic_auth_sha256: str | None) -> EdgeConfig:
    if environment not in ENVIRONMENTS:
        raise ValueError(f"edge config: environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    if basic_auth_sha256 is not None:
        if not _SHA256_HEX.fullmatch(basic_auth_sha256):
            raise ValueError("edge config: basic_auth_sha256 must be 64 lowercase hex characters (sha256 hexdigest)")
        if environment == "prod":
            raise ValueError("edge config: the storefront credential is for non-production stacks only")
    return EdgeConfig(environment=environment, basic_auth_sha256=basic_auth_sha256)


def render_config(environment: str, basic_auth_sha256: str | None) -> str:
    """The ``config.json`` text to bake into the zip.

    ``basic_auth_sha256`` must be ``None`` for prod (the public shop) and may be
    ``None`` elsewhere to leave a stack open. Raises ``ValueError`` on bad input
    so a broken package is never built.
    """
    config = _validate(environment, basic_auth_sha256)
    return json.dumps(
        {"environment": config.environment, "basic_auth_sha256": config.basic_auth_sha256},
        sort_keys=True,
        separators=(",", ":"),
    )


def parse_config(text: str) -> EdgeConfig:
    """Parse and validate ``config.json`` text."""
    data: Any = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("edge config: expected a JSON object")
    environment = data.get("environment")
    digest = data.get("basic_auth_sha256")
    if not isinstance(environment, str) or not (digest is None or isinstance(digest, str)):
        raise ValueError("edge config: malformed config.json")
    return _validate(environment, digest)


def load_config(path: Path | None = None) -> EdgeConfig:
    """Read the baked ``config.json`` (by default the one next to this file)."""
    path = path or Path(__file__).with_name(CONFIG_FILENAME)
    return parse_config(path.read_text(encoding="utf-8"))
