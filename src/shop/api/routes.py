"""Route paths in Powertools syntax, derived from ``shop.declarations.ROUTES`` (the one source of truth)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shop.declarations import ROUTES, Route

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router


def new_router() -> Router:
    from aws_lambda_powertools.event_handler.api_gateway import Router

    return Router()  # type: ignore[no-untyped-call]


def route(operation: str) -> Route:
    for candidate in ROUTES:
        if candidate.operation == operation:
            return candidate
    raise KeyError(f"no route named {operation!r} in shop.declarations.ROUTES")


def path(operation: str) -> str:
    """``/api/products/{product_id}`` → ``/api/products/<product_id>`` for the route named ``operation``."""
    return re.sub(r"\{(\w+)\}", r"<\1>", route(operation).path)
