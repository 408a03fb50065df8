"""The two Powertools resolvers (API Gateway REST and ALB) with the same routers and error mapping.

Errors always leave as ``{"error": {"code", "message", "details"}}``: our ApiErrors with their
status; request validation → 422 ``validation_error`` (details: location, type and message of each
problem, never the input); no route → 404; database unreachable → 503 ``service_unavailable``;
a body that is not decodable (bad base64, not UTF-8: an ALB forwards such bodies) → 400
``validation_error``; anything else → 500 ``internal_error``, logged with the correlation id and never with a stack
trace in the response.
"""

from __future__ import annotations

import binascii
from typing import Any

from aws_lambda_powertools.event_handler import ALBResolver, APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from shop.api import observability as obs
from shop.api.errors import ApiError, error_body
from shop.api.routers import admin, cart, catalog, checkout, health, me, orders
from shop.config import settings
from shop.declarations import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS

API_TITLE = "ecommerce-platform shop API"
API_VERSION = "1.0.0"
PUBLIC_ROUTERS = (health.router, catalog.router, cart.router, checkout.router, orders.router, me.router)


def _json(status: int, code: str, message: str, details: dict[str, Any] | list[Any] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, details),
    )


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    """Where and what, never the offending input."""
    return [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "type": str(error.get("type", "value_error")),
            "message": str(error.get("msg", "")),
        }
        for error in errors
    ]


def _install_error_handlers(app: ApiGatewayResolver) -> None:
    import psycopg
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
    from botocore.exceptions import BotoCoreError, ClientError

    def api_error(exc: ApiError) -> Response[Any]:
        return _json(exc.status, exc.code, exc.message, exc.details)

    def validation_error(exc: RequestValidationError) -> Response[Any]:
        return _json(422, "validation_error", "the request is not valid", _validation_details(exc.errors()))

    def undecodable(exc: ValueError) -> Response[Any]:
        obs.logger().warning("undecodable request body", extra={"error_type": type(exc).__name__})
        return _json(400, "validation_error", "the request body is not valid base64-encoded UTF-8 JSON", {})

    def unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
        return _json(415, "unsupported_media_type", "send application/json", {})

    def no_route(exc: RouteNotFound) -> Response[Any]:
        event = app.current_event
        return _json(404, "not_found", f"no route for {event.http_method} {event.path}", {})

    def unavailable(exc: Exception) -> Response[Any]:
        obs.logger().error("dependency unavailable", extra={"error_type": type(exc).__name__}, exc_info=True)
        obs.count("DependencyFailures")
        return _json(503, "service_unavailable", "a backing service is unavailable; retry later", {})

    def internal(exc: Exception) -> Response[Any]:
        obs.logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
        return _json(500, "internal_error", "internal error", {})

    app.exception_handler(ApiError)(api_error)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(RequestUnsupportedContentType)(unsupported)
    app.exception_handler([UnicodeDecodeError, binascii.Error])(undecodable)
    app.not_found(no_route)
    dependency_errors = [psycopg.OperationalError, BotoCoreError, ClientError, IdempotencyPersistenceLayerError]
    app.exception_handler(dependency_errors)(unavailable)
    app.exception_handler(Exception)(internal)


def _cors() -> CORSConfig | None:
    origin = settings().cors_allow_origin
    if not origin:
        return None
    return CORSConfig(
        allow_origin=origin,
        allow_headers=list(CORS_ALLOW_HEADERS),
        expose_headers=list(CORS_EXPOSE_HEADERS),
        max_age=CORS_MAX_AGE_SECONDS,
    )


def build_rest() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, cors=_cors())
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    app.include_router(admin.router)
    _install_error_handlers(app)
    return app


def build_alb() -> ALBResolver:
    # ALB passes query strings undecoded. Admin routes are not served behind the ALB.
    app = ALBResolver(enable_validation=True, cors=_cors(), decode_query_parameters=True)
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    return app


# Error responses each operation documents (besides 422 validation and 500), all with the ErrorBody schema.
ERROR_RESPONSES: dict[str, tuple[int, ...]] = {
    "health": (),
    "list_products": (503,),
    "get_product": (404, 503),
    "create_cart": (503,),
    "get_cart": (404, 503),
    "put_cart_item": (404, 409, 503),
    "delete_cart_item": (404, 503),
    "checkout": (404, 409, 503),
    "get_order": (404, 503),
    "get_me": (401, 503),
    "list_my_orders": (401, 503),
    "create_product": (403, 409, 503),
    "update_product": (403, 404, 503),
    "set_stock": (403, 404, 503),
}
_ERROR_DESCRIPTIONS = {
    400: "Undecodable request body",
    401: "Unauthorized: no valid sign-in token (missing, expired, invalid: one answer for all)",
    403: "Forbidden (admin without an API key)",
    404: "Not found",
    409: "Conflict: out_of_stock, cart_empty, cart_full, request_in_progress, or conflict (existing sku)",
    422: "Validation error",
    500: "Internal error",
    503: "A backing service is unavailable",
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the full API (the REST resolver serves every route).

    Powertools documents validation failures with its own schema; ours is ErrorBody everywhere, so
    the error responses are rewritten to it, and admin operations declare the API key.
    """
    import json

    from shop.api.models import ErrorBody
    from shop.declarations import API_KEY_HEADER

    app = build_rest()
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description="Catalog, carts, checkout and orders. Money is integer cents (USD).",
        )
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    document.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
        "cognitoIdToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "the Cognito ID token of the signed-in customer",
        },
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            body_codes = (400,) if "requestBody" in operation else ()
            codes = (*ERROR_RESPONSES[operation["operationId"]], *body_codes, 422, 500)
            responses = operation["responses"]
            for code in sorted(codes):
                responses[str(code)] = {"description": _ERROR_DESCRIPTIONS[code], "content": error_content}
            if operation.get("tags") == ["admin"]:
                operation["security"] = [{"apiKey": []}]
            elif operation.get("tags") == ["me"]:
                operation["security"] = [{"cognitoIdToken": []}]
    return document
