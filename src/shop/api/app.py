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
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import ALBResolver, APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from shop.api import body
from shop.api import observability as obs
from shop.api.errors import ApiError, error_body
from shop.api.handler import header_value
from shop.api.routers import admin, cart, catalog, checkout, health, me, orders, storefront, webhooks
from shop.api.routes import route_methods
from shop.config import settings
from shop.declarations import (
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE_SECONDS,
    ID_TOKEN_HEADER,
    ORDER_TOKEN_HEADER,
    ROUTES,
    Route,
    served_behind_cloudfront,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.types import EventHandlerInstance


API_TITLE = "ecommerce-platform shop API"
API_VERSION = "1.0.0"
PUBLIC_ROUTERS = (
    health.router,
    catalog.router,
    cart.router,
    checkout.router,
    orders.router,
    webhooks.router,
    me.router,
    storefront.router,
)


def _json(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, details),
        headers=headers,
    )


def _without_optional_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An optional field (``X | None``) that fails reports one error per union branch, at
    ``loc + [branch tag]``: "should be None" for the None branch and the real problem for X. Keep the
    real problem, at the field's own location, so a client can tell which field it is about."""
    optional = {tuple(e.get("loc", ()))[:-1] for e in errors if e.get("type") == "none_required" and e.get("loc")}
    kept: list[dict[str, Any]] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if loc[:-1] in optional:
            if error.get("type") == "none_required":
                continue
            error = {**error, "loc": loc[:-1]}
        kept.append(error)
    return kept


def _validation_details(errors: Any) -> dict[str, list[dict[str, Any]]]:
    """``{"errors": [...]}``: where and what of each problem, never the offending input."""
    return {
        "errors": [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "type": str(error.get("type", "value_error")),
                "message": str(error.get("msg", "")),
            }
            for error in _without_optional_branches(list(errors))
        ]
    }


def allowed_methods(path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[str, ...]:
    """The methods ``routes`` serve on ``path`` (HEAD wherever GET is, OPTIONS when CORS is on)."""
    methods = route_methods(path, routes)
    if methods and settings().cors_allow_origin:
        methods = (*methods, "OPTIONS")
    return methods


class _StrictBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation with our one body parser in place of its content-type switch
    (which parses forms and multipart into dicts and fails on a multipart type without a boundary)."""

    def _get_body(self, app: EventHandlerInstance) -> Any:
        event = app.current_event
        return body.parse(
            event.body, header_value(event.raw_event, "content-type"), is_base64=bool(event.is_base64_encoded)
        )


def _install_body_parser(app: ApiGatewayResolver) -> None:
    app._request_validation_middleware = _StrictBodyValidation()  # type: ignore[no-untyped-call]


# Outages of modules loaded on first use (psycopg with the first query, Powertools idempotency with
# the first checkout), recognised without importing them at cold start.
_LAZY_OUTAGES = (
    ("psycopg", "OperationalError"),
    ("aws_lambda_powertools.utilities.idempotency.exceptions", "IdempotencyPersistenceLayerError"),
)


def _is_lazy_outage(exc: Exception) -> bool:
    for module_name, class_name in _LAZY_OUTAGES:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return True
    return False


def _install_error_handlers(app: ApiGatewayResolver, served: tuple[Route, ...]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    def api_error(exc: ApiError) -> Response[Any]:
        return _json(exc.status, exc.code, exc.message, exc.details)

    def validation_error(exc: RequestValidationError) -> Response[Any]:
        return _json(422, "validation_error", "the request is not valid", _validation_details(exc.errors()))

    def undecodable(exc: ValueError) -> Response[Any]:
        obs.logger().warning("undecodable request body", extra={"error_type": type(exc).__name__})
        return _json(400, "validation_error", "the request body is not valid base64-encoded UTF-8 JSON", {"errors": []})

    def unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
        return _json(415, "unsupported_media_type", "send the body as application/json", {"expected": body.MEDIA_TYPE})

    def no_route(exc: RouteNotFound) -> Response[Any]:
        event = app.current_event
        allow = allowed_methods(event.path, served)
        # A path of a known shape whose parameter cannot be an id (e.g. it has characters no id
        # has) names nothing: 404. Only a method the path does not serve is 405.
        if allow and event.http_method not in allow:
            return _json(
                405,
                "method_not_allowed",
                f"{event.http_method} is not allowed on {event.path}",
                {"allowed": list(allow)},
                headers={"Allow": ", ".join(allow)},
            )
        return _json(404, "not_found", f"no route for {event.http_method} {event.path}", {})

    def unavailable(exc: Exception) -> Response[Any]:
        obs.logger().error("dependency unavailable", extra={"error_type": type(exc).__name__}, exc_info=True)
        obs.count("DependencyFailures")
        return _json(503, "service_unavailable", "a backing service is unavailable; retry later", {})

    def internal(exc: Exception) -> Response[Any]:
        if _is_lazy_outage(exc):
            return unavailable(exc)
        obs.logger().exception("unhandled error", extra={"error_type": type(exc).__name__})
        return _json(500, "internal_error", "internal error", {})

    def payment_rejected(exc: Exception) -> Response[Any]:
        obs.logger().warning("Stripe refused a request", extra={"error_type": type(exc).__name__})
        return _json(409, "payment_rejected", "the payment provider refused the request", {})

    from shop.payments.errors import PaymentRejectedError, PaymentsNotConfiguredError, PaymentsUnavailableError

    app.exception_handler(ApiError)(api_error)
    app.exception_handler(PaymentRejectedError)(payment_rejected)
    app.exception_handler([PaymentsUnavailableError, PaymentsNotConfiguredError])(unavailable)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(RequestUnsupportedContentType)(unsupported)
    app.exception_handler([UnicodeDecodeError, binascii.Error])(undecodable)
    app.not_found(no_route)
    dependency_errors = [BotoCoreError, ClientError]  # and _LAZY_OUTAGES, in internal()
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
    _install_body_parser(app)
    _install_error_handlers(app, ROUTES)
    return app


def build_alb() -> ALBResolver:
    # ALB passes query strings undecoded. Back-office routes are served here with a token only
    # (an ALB event never carries an API-key identity, see shop.api.routers.admin).
    app = ALBResolver(enable_validation=True, cors=_cors(), decode_query_parameters=True)
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    app.include_router(admin.router)
    _install_body_parser(app)
    _install_error_handlers(app, tuple(route for route in ROUTES if served_behind_cloudfront(route)))
    return app


# Error responses each operation documents besides EVERY_OPERATION (and BODY_OPERATION for those
# that take a body), all with the ErrorBody schema.
ERROR_RESPONSES: dict[str, tuple[int, ...]] = {
    "health": (503,),
    "list_products": (503,),
    "list_categories": (503,),
    "get_product": (404, 503),
    "create_cart": (503,),
    "get_cart": (404, 503),
    "put_cart_item": (404, 409, 503),
    "delete_cart_item": (404, 503),
    "checkout": (404, 409, 503),
    "get_order": (404, 503),
    "cancel_order": (404, 409, 503),
    "list_shipping_rates": (503,),
    "fulfil_order": (404, 409, 503),
    "refund_order": (404, 409, 503),
    "admin_cancel_order": (404, 409, 503),
    "stripe_webhook": (503,),
    "get_storefront_config": (),
    "get_me": (503,),
    "list_my_orders": (503,),
    "merge_my_cart": (404, 409, 503),
    "create_product": (409, 503),
    "update_product": (404, 503),
    "set_stock": (404, 503),
    "list_admin_orders": (503,),
    "get_admin_order": (404, 503),
    "list_admin_products": (503,),
    "archive_product": (404, 503),
    "create_image_upload": (404, 503),
}
# What any request can get before or around the function: the edge (CloudFront viewer request)
# answers 400 (malformed URI, header or Content-Length), 401 (the storefront credential outside
# prod; an admin path without a token), 413 (headers or body too large) and 414 (URI or query too long); API
# Gateway answers 400 (a body failing its model), 403 (no or a bad API key, no such resource), 413
# and 429 (throttled); the function answers 422 and 500.
EVERY_OPERATION = (400, 401, 403, 413, 414, 422, 429, 500)
BODY_OPERATION = (415,)
_ERROR_DESCRIPTIONS = {
    400: (
        "Malformed request (edge, API Gateway), a body that is not decodable, too deep or not I-JSON, or"
        " cursor_mismatch (a page cursor presented with another sort, category or search)"
    ),
    401: (
        "The storefront credential is required (non-production stacks with one, at the edge), or no"
        " valid sign-in token on a customer or admin route (missing, expired, invalid: one answer for all),"
        " or an invalid token sent to an operation that takes one optionally"
    ),
    403: (
        "Forbidden: API Gateway without a valid API key on an admin operation, a token whose groups do"
        " not allow the operation, or email_not_verified (a signed-in checkout by an account without a"
        " verified e-mail address)"
    ),
    404: "Not found",
    409: "Conflict: out_of_stock, cart_empty, cart_full, request_in_progress, invalid_transition (the"
    " order's status does not allow this), or conflict (existing sku)",
    413: "Request headers or body too large (edge, API Gateway or the function)",
    414: "URI or query string too long (edge)",
    415: "The body is not application/json",
    422: "Validation error (details.errors lists each problem), unsupported_country (no shipping there)",
    429: "Throttled by API Gateway",
    500: "Internal error",
    503: "A backing service is unavailable",
}


# What each operation's access (shop.declarations.ROUTES) means as OpenAPI security: back-office
# operations take either credential (alternatives are separate requirement objects), customer ones
# the ID token.
_SECURITY_BY_ACCESS: dict[str, list[dict[str, list[str]]]] = {
    "customer": [{"cognitoIdToken": []}],
    "admin": [{"apiKey": []}, {"cognitoIdToken": []}],
    "staff": [{"apiKey": []}, {"cognitoIdToken": []}],
}
SECURITY = {route.operation: _SECURITY_BY_ACCESS[route.access] for route in ROUTES if route.access != "public"}

# Public operations that also take the customer's ID token: a signed-in checkout is the customer's
# order, and its customer reads or cancels it without the order token (an invalid token is 401).
SIGN_IN_OPTIONAL = frozenset({"checkout", "get_order", "cancel_order"})


# OpenAPI links: how one operation's answer feeds the next (a client's, and the stateful fuzzer's, map).
_CART = {"cart_id": "$response.body#/cart_id"}
LINKS: dict[str, dict[str, Any]] = {
    "create_cart": {
        "GetCart": {"operationId": "get_cart", "parameters": _CART},
        "PutCartItem": {"operationId": "put_cart_item", "parameters": _CART},
        "DeleteCartItem": {"operationId": "delete_cart_item", "parameters": _CART},
    },
    "put_cart_item": {"GetCart": {"operationId": "get_cart", "parameters": _CART}},
    "checkout": {
        "GetOrder": {
            "operationId": "get_order",
            "parameters": {
                "order_id": "$response.body#/order_id",
                f"header.{ORDER_TOKEN_HEADER.lower()}": "$response.body#/order_token",
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the full API (the REST resolver serves every route).

    Powertools documents validation failures with its own schema; ours is ErrorBody everywhere, so
    the error responses are rewritten to it, and admin operations declare the API key.
    """
    import json

    from shop.api.models import PATH_PARAMETER_PATTERNS, ErrorBody
    from shop.declarations import API_KEY_HEADER

    app = build_rest()
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description=(
                "Catalog, carts, checkout and orders. Money is integer cents (USD). An order's total is its"
                " lines plus a flat shipping rate per country zone (GET /api/shipping-rates); tax is out of"
                " scope: no tax is computed or charged."
            ),
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
            "type": "apiKey",
            "in": "header",
            "name": ID_TOKEN_HEADER,
            "description": (
                "the Cognito ID token of the signed-in customer (bare, or `Bearer <token>`); on admin"
                " operations one whose cognito:groups include admin (staff: fulfilment and order reads)"
            ),
        },
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            body_codes = BODY_OPERATION if "requestBody" in operation else ()
            codes = (*ERROR_RESPONSES[operation["operationId"]], *body_codes, *EVERY_OPERATION)
            responses = operation["responses"]
            for code in sorted(codes):
                responses[str(code)] = {"description": _ERROR_DESCRIPTIONS[code], "content": error_content}
            if operation["operationId"] in SECURITY:
                operation["security"] = SECURITY[operation["operationId"]]
            elif operation["operationId"] in SIGN_IN_OPTIONAL:
                operation["security"] = [{}, {"cognitoIdToken": []}]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in PATH_PARAMETER_PATTERNS:
                    parameter["schema"]["pattern"] = PATH_PARAMETER_PATTERNS[parameter["name"]]
            operation["responses"] = {
                status: {**response, "links": LINKS[operation["operationId"]]}
                if status.startswith("2") and operation["operationId"] in LINKS
                else response
                for status, response in operation["responses"].items()
            }
    return document
