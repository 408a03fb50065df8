"""Route paths in Powertools syntax, derived from ``shop.declarations.ROUTES`` (the one source of truth)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import unquote

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


@cache
def _templates() -> tuple[tuple[Route, re.Pattern[str]], ...]:
    compiled = []
    for candidate in ROUTES:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(candidate.path))
        compiled.append((candidate, re.compile(f"^{regex}$")))
    return tuple(compiled)


def match_template(template: str, raw_path: str) -> bool:
    """Whether ``raw_path`` is an instance of the route template ``template`` (``/api/carts/{cart_id}``)."""
    return any(candidate.path == template and pattern.match(raw_path) for candidate, pattern in _templates())


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")


def route_methods(raw_path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[str, ...]:
    """The methods ``routes`` declare on ``raw_path``, plus HEAD wherever GET is, in a stable order."""
    methods: set[str] = {candidate.method for candidate in routes if match_template(candidate.path, raw_path)}
    if "GET" in methods:
        methods.add("HEAD")
    return tuple(method for method in METHOD_ORDER if method in methods)


def match_route(method: str, raw_path: str) -> tuple[str, dict[str, str] | None]:
    """The API Gateway resource template and (decoded) path parameters for a raw, percent-encoded path.

    Segments are matched before decoding, so an encoded ``/`` (``%2F``) stays inside its parameter.
    A path that matches a resource but not the method still gets that resource (the function answers
    404/405); a path matching no resource gets the decoded path itself as its resource.
    """
    fallback: tuple[str, dict[str, str] | None] | None = None
    for candidate, pattern in _templates():
        found = pattern.match(raw_path)
        if found is None:
            continue
        params = {name: unquote(value) for name, value in found.groupdict().items()} or None
        if candidate.method == method:
            return candidate.path, params
        fallback = fallback or (candidate.path, params)
    return fallback or (unquote(raw_path), None)


def is_personal(method: str, raw_path: str) -> bool:
    """Whether the request's resource (any method, so a 404/405 on it too) carries personal data."""
    template, _ = match_route(method, raw_path)
    return any(candidate.personal and candidate.path == template for candidate in ROUTES)


def cache_max_age(method: str, raw_path: str) -> int | None:
    """The declared ``max_age`` of the route ``method`` ``raw_path`` reaches (HEAD as GET), or None."""
    served = "GET" if method == "HEAD" else method
    template, _ = match_route(served, raw_path)
    for candidate in ROUTES:
        if candidate.path == template and candidate.method == served:
            return candidate.max_age
    return None
