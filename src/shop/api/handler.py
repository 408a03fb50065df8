"""Lambda entry point for API Gateway REST proxy events and ALB events: ``shop.api.handler.handler``.

Module import is cheap (standard library only). The first invocation builds the resolver of its
event source (REST or ALB) and Powertools' Logger and Metrics; the X-Ray SDK loads with the first
sampled trace (``shop.api.observability.tracer``) and psycopg with the first database call
(``shop.db.connection``). All of it is reused while the execution environment stays warm.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

from shop.declarations import PERSONAL_CACHE_CONTROL, REQUEST_ID_HEADER, REQUEST_ID_PATTERN
from shop.lazy import Lazy

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
# Powertools resolvers keep the current request in class attributes: one request at a time per
# process. A Lambda environment handles one invocation at a time anyway; the local platform's
# threads queue here.
_resolve_lock = threading.Lock()
_cold = [True]


def _build(source: str) -> Any:
    """One resolver, built on first use (after the settings parsed: a bad value fails here)."""
    from shop import config
    from shop.api.app import build_alb, build_rest

    config.settings()
    return build_rest() if source == "rest" else build_alb()


class _Resolvers:
    """The REST and ALB resolvers, each built when the first event of its source arrives.

    Building one (its routes' pydantic validation) is a large part of a cold start, and most
    execution environments only ever see one of the two sources.
    """

    def __init__(self) -> None:
        self._by_source: dict[str, Lazy[Any]] = {
            "rest": Lazy(lambda: _build("rest")),
            "alb": Lazy(lambda: _build("alb")),
        }

    def for_source(self, source: str) -> Any:
        return self._by_source[source]()

    def __call__(self) -> dict[str, Any]:
        """Both resolvers (tests, the local platform's pre-built workers)."""
        return {source: lazy() for source, lazy in self._by_source.items()}

    def reset(self) -> None:
        for lazy in self._by_source.values():
            lazy.reset()


resolvers = _Resolvers()


def header_value(event: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted and value:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return str(values[0])
    return None


def request_id(event: dict[str, Any]) -> str:
    """The caller's X-Request-Id when it is sane, else a new one."""
    incoming = header_value(event, REQUEST_ID_HEADER)
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _set_header(response: dict[str, Any], name: str, value: str) -> None:
    if "multiValueHeaders" in response and response["multiValueHeaders"] is not None:
        response["multiValueHeaders"][name] = [value]
    else:
        response.setdefault("headers", {})
        if response["headers"] is None:
            response["headers"] = {}
        response["headers"][name] = value


def _serves_get(path: str) -> bool:
    from shop.api.routes import match_template
    from shop.declarations import ROUTES

    return any(route.method == "GET" and match_template(route.path, path) for route in ROUTES)


def _as_get(event: dict[str, Any]) -> dict[str, Any]:
    """HEAD is GET without the body (RFC 9110 9.3.2): the same status and headers."""
    context = {**(event.get("requestContext") or {})}
    if "httpMethod" in context:
        context["httpMethod"] = "GET"
    return {**event, "httpMethod": "GET", "requestContext": context}


def _source(event: dict[str, Any]) -> str:
    return "alb" if "elb" in (event.get("requestContext") or {}) else "rest"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    source = _source(event)
    app = resolvers.for_source(source)
    head = event.get("httpMethod") == "HEAD" and _serves_get(str(event.get("path") or ""))
    with _resolve_lock:
        response = _handle(app, source, _as_get(event) if head else event, context)
    if head:
        response["body"] = ""
        response["isBase64Encoded"] = False
    return response


def _handle(app: Any, source: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    from shop.api import observability as obs
    from shop.api.routes import cache_max_age, is_personal

    logger, metrics, tracer = obs.logger(), obs.metrics(), obs.tracer()
    request_context = event.get("requestContext") or {}
    rid = request_id(event)
    logger.set_correlation_id(rid)
    logger.append_keys(
        request_id=rid,
        api_request_id=request_context.get("requestId"),
        function_request_id=getattr(context, "aws_request_id", None),
        event_source=source,
    )
    cold, _cold[0] = _cold[0], False
    started = time.perf_counter()
    try:
        if tracer is None:
            response: dict[str, Any] = app.resolve(event, context)
        else:
            with tracer.provider.in_subsegment("## handler") as subsegment:
                subsegment.put_annotation("ColdStart", cold)
                subsegment.put_annotation("EventSource", source)
                subsegment.put_annotation("RequestId", rid)
                response = app.resolve(event, context)
                subsegment.put_annotation("StatusCode", str(response.get("statusCode", "")))
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["request_id", "api_request_id", "function_request_id", "event_source"])
    _set_header(response, REQUEST_ID_HEADER, rid)
    method, raw_path = str(event.get("httpMethod") or ""), str(event.get("path") or "")
    if is_personal(method, raw_path):
        _set_header(response, "Cache-Control", PERSONAL_CACHE_CONTROL)
    elif (max_age := cache_max_age(method, raw_path)) is not None and 200 <= int(response.get("statusCode", 500)) < 300:
        _set_header(response, "Cache-Control", f"public, max-age={max_age}")
    if source == "alb":
        status = int(response.get("statusCode", 500))
        response.setdefault("statusDescription", f"{status} {_phrase(status)}")
    logger.info(
        "request",
        extra={
            "method": event.get("httpMethod"),
            "path": event.get("path"),
            "status": response.get("statusCode"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "cold_start": cold,
            "event_source": source,
        },
    )
    return response
