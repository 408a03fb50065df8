"""The HTTP contract for hostile and unusual input, through the real handler on API Gateway and ALB
events: one JSON body parser (415 for anything else), bounded nesting and size, strict types, no
NUL or lone surrogate reaching a store, 405 with Allow, HEAD, and ``details`` always an object.
Each class here was a 500 or a wrong answer the schema-driven fuzz run found (issue 17 part 3)."""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest

from shop import declarations
from shop.api import body, openapi
from shop.edge import config as edge_config
from tests.app.conftest import Call, invoke
from tests.app.events import ADDRESS, alb_event, rest_event

Row = tuple[Any, ...]


def _item_path(api: Call, shop: dict[str, dict[str, Any]]) -> str:
    cart = api("POST", "/api/carts").body["cart_id"]
    return f"/api/carts/{cart}/items/{shop['MUG-001']['id']}"


def _orders(db: psycopg.Connection[Row]) -> Any:
    return db.execute("SELECT count(*) FROM orders").fetchone()


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",  # no boundary: was a 500
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",  # was parsed as if it were the JSON
        "text/plain",
        "application/jsonp",
        "application/json-patch+json",
        "application/json; charset=latin-1",
    ],
)
def test_a_body_that_is_not_application_json_is_415(
    api: Call, shop: dict[str, dict[str, Any]], db: psycopg.Connection[Row], content_type: str
) -> None:
    path = _item_path(api, shop)
    for method, target, raw in (("PUT", path, "quantity=1"), ("POST", "/api/checkout", "cart_id=x&email=a@b.co")):
        reply = api(method, target, raw_body=raw, headers={"Content-Type": content_type})
        assert (reply.status, reply.error_code) == (415, "unsupported_media_type"), (content_type, method)
        assert reply.body["error"]["details"] == {"expected": "application/json"}
    assert api("GET", path.rsplit("/items", 1)[0]).body["items"] == []
    assert _orders(db) == (0,)


def test_a_body_without_content_type_is_415(source: str, shop: dict[str, dict[str, Any]]) -> None:
    build = alb_event if source == "alb" else rest_event
    event = build("POST", "/api/checkout", raw_body='{"cart_id": "x", "email": "a@b.co"}')
    for key in ("headers", "multiValueHeaders"):
        if event.get(key):
            event[key] = {k: v for k, v in event[key].items() if k.lower() != "content-type"}
    reply = invoke(event)
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON", "application/json;charset=UTF-8"])
def test_application_json_in_any_case_with_parameters_is_accepted(
    api: Call, shop: dict[str, dict[str, Any]], content_type: str
) -> None:
    path = _item_path(api, shop)
    reply = api("PUT", path, raw_body='{"quantity": 2}', headers={"Content-Type": content_type})
    assert reply.status == 200, reply.body
    assert reply.body["items"][0]["quantity"] == 2


def test_deep_nesting_is_400_not_a_recursion_error(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    path = _item_path(api, shop)
    for raw in ("[" * 1000 + "]" * 1000, '{"quantity":' * 2000 + "1" + "}" * 2000, "[" * 50_000):
        reply = api("PUT", path, raw_body=raw)
        assert (reply.status, reply.error_code) == (400, "validation_error")
        assert reply.body["error"]["details"]["errors"][0]["type"] == "too_deep"
    # Brackets inside strings are text, not nesting.
    reply = api("POST", "/api/checkout", body={"cart_id": "[" * 40, "email": "a@b.co", "shipping_address": ADDRESS})
    assert reply.status == 422


def test_an_oversized_body_is_413(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    path = _item_path(api, shop)
    raw = json.dumps({"quantity": 1, "pad": "x" * body.MAX_BODY_BYTES})
    reply = api("PUT", path, raw_body=raw)
    assert (reply.status, reply.error_code) == (413, "request_too_large")
    assert reply.body["error"]["details"] == {"limit": body.MAX_BODY_BYTES}


@pytest.mark.parametrize(
    "raw",
    [
        "NaN",
        '{"quantity": NaN}',
        '{"quantity": Infinity}',
        '{"cart_id": "\\udc00"}',
        '{"cart_id": "abc", "email": "a\\ud800@example.com"}',  # a lone surrogate: was a 500
    ],
)
def test_json_that_is_not_i_json_is_400(api: Call, shop: dict[str, dict[str, Any]], raw: str) -> None:
    reply = api("POST", "/api/checkout", raw_body=raw)
    assert (reply.status, reply.error_code) == (400, "validation_error"), raw


def test_malformed_json_is_422_with_the_position(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    reply = api("PUT", _item_path(api, shop), raw_body='{"quantity": 1')
    assert (reply.status, reply.error_code) == (422, "validation_error")
    (problem,) = reply.body["error"]["details"]["errors"]
    assert problem["loc"][0] == "body" and problem["type"] == "json_invalid"


def test_an_integral_number_is_an_integer(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    """JSON Schema's integer is a number without a fraction: 2.0 is 2 (API Gateway's model agrees)."""
    path = _item_path(api, shop)
    reply = api("PUT", path, raw_body='{"quantity": 2.0}')
    assert reply.status == 200 and reply.body["items"][0]["quantity"] == 2


@pytest.mark.parametrize("quantity", [True, False, "1", 1.5, 1e300, [1], {"n": 1}, None])
def test_quantity_types_are_strict(api: Call, shop: dict[str, dict[str, Any]], quantity: Any) -> None:
    path = _item_path(api, shop)
    reply = api("PUT", path, body={"quantity": quantity})
    assert (reply.status, reply.error_code) == (422, "validation_error"), quantity
    assert api("GET", path.rsplit("/items", 1)[0]).body["items"] == []


@pytest.mark.parametrize("email", ["a@b", True, "a\x00b@example.com"])
def test_a_bad_optional_email_is_one_problem_at_the_field(
    api: Call, shop: dict[str, dict[str, Any]], email: Any
) -> None:
    """The body's e-mail is optional (a signed-in checkout ignores it), so pydantic reports a union:
    the API answers the one real problem, located at the field, not one per union branch."""
    cart = api("POST", "/api/carts").body["cart_id"]
    api("PUT", f"/api/carts/{cart}/items/{shop['MUG-001']['id']}", body={"quantity": 1})
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": email, "shipping_address": ADDRESS})
    assert (reply.status, reply.error_code) == (422, "validation_error")
    problems = reply.body["error"]["details"]["errors"]
    assert [p["loc"] for p in problems] == [["body", "email"]]
    assert problems[0]["type"] != "none_required"


def test_checkout_fields_are_strict(api: Call, shop: dict[str, dict[str, Any]], db: psycopg.Connection[Row]) -> None:
    cart = api("POST", "/api/carts").body["cart_id"]
    api("PUT", f"/api/carts/{cart}/items/{shop['MUG-001']['id']}", body={"quantity": 1})
    for request in (
        {"cart_id": cart, "email": True, "shipping_address": ADDRESS},
        {"cart_id": 12, "email": "a@b.co", "shipping_address": ADDRESS},
        # NUL: was a 500 from PostgreSQL
        {"cart_id": cart, "email": "a\x00b@example.com", "shipping_address": ADDRESS},
        {"cart_id": cart, "email": "a@example.com\x00", "shipping_address": ADDRESS},
        {
            "cart_id": cart,
            "email": " a@example.com",
            "shipping_address": ADDRESS,
            # not trimmed: the pattern is the contract
        },
        {
            "cart_id": cart,
            "email": "a\x85b@example.com",
            "shipping_address": ADDRESS,
            # NEL is \s in Python, not in ECMA-262
        },
        {"cart_id": "a\x00b", "email": "a@b.co", "shipping_address": ADDRESS},
    ):
        reply = api("POST", "/api/checkout", body=request)
        assert (reply.status, reply.error_code) == (422, "validation_error"), request
    assert _orders(db) == (0,)


@pytest.mark.parametrize("cursor", ["\x00", "a\x00b", "\ud800", "00000000-0000-4000-8000-00000000000\x00"])
def test_nul_and_lone_surrogates_in_a_cursor_are_422(rest: Call, cursor: str) -> None:
    """API Gateway hands the function decoded query strings; these never reach a query."""
    reply = rest("GET", "/api/products", query={"cursor": cursor})
    assert (reply.status, reply.error_code) == (422, "validation_error")


def _documented_email_pattern() -> re.Pattern[str]:
    schema = openapi.load()["components"]["schemas"]["CheckoutRequest"]["properties"]["email"]
    return re.compile(schema["pattern"])


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "Buyer+tag@Example.COM", "ü@例え.jp", "a.b@c.d.e", "#!$%&'*@[::1].z"],
)
def test_addresses_matching_the_documented_pattern_are_accepted(
    api: Call, shop: dict[str, dict[str, Any]], email: str
) -> None:
    assert _documented_email_pattern().fullmatch(email)
    cart = api("POST", "/api/carts").body["cart_id"]
    api("PUT", f"/api/carts/{cart}/items/{shop['MUG-001']['id']}", body={"quantity": 1})
    reply = api("POST", "/api/checkout", body={"cart_id": cart, "email": email, "shipping_address": ADDRESS})
    assert reply.status == 201, reply.body
    assert reply.body["email"] == email


def test_the_documented_email_pattern_refuses_what_the_api_refuses() -> None:
    pattern = _documented_email_pattern()
    for email in (
        "a\x00b@c.d",
        " a@b.co",
        "a@b.co ",
        "a\x85@b.co",
        "a@b",
        "a@@b.co",
        "a\u00a0b@c.d",
        "\u3000x@y.z",
        "x@y.\ufeff",
    ):
        assert not pattern.fullmatch(email), email


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/api/products", "GET, HEAD"),
        ("POST", "/api/products", "GET, HEAD"),
        ("DELETE", "/api/carts", "POST"),
        ("GET", "/api/checkout", "POST"),
        ("POST", "/api/carts/abc/items/def", "PUT, DELETE"),
        ("TRACE", "/api/health", "GET, HEAD"),
    ],
)
def test_a_wrong_method_on_a_known_path_is_405_with_allow(api: Call, method: str, path: str, allow: str) -> None:
    reply = api(method, path)
    assert (reply.status, reply.error_code) == (405, "method_not_allowed")
    assert reply.headers["allow"] == allow
    assert reply.body["error"]["details"] == {"allowed": allow.split(", ")}


def test_head_is_get_without_the_body(source: str, shop: dict[str, dict[str, Any]]) -> None:
    from shop.api.handler import handler
    from tests.app.events import LambdaContext

    build = alb_event if source == "alb" else rest_event
    for path in ("/api/health", "/api/products", f"/api/products/{shop['MUG-001']['id']}", "/api/products/nope"):
        get = handler(build("GET", path), LambdaContext())
        head = handler(build("HEAD", path), LambdaContext())
        assert head["statusCode"] == get["statusCode"], path
        assert head["body"] == "" and get["body"]
        assert {k.lower() for k in head.get("headers") or {}} == {k.lower() for k in get.get("headers") or {}}
    head = handler(build("HEAD", "/api/carts"), LambdaContext())
    assert head["statusCode"] == 405


def test_validation_details_are_an_object_with_errors(api: Call, shop: dict[str, dict[str, Any]]) -> None:
    reply = api("PUT", _item_path(api, shop), body={"quantity": 0, "extra": 1})
    details = reply.body["error"]["details"]
    assert isinstance(details, dict) and set(details) == {"errors"}
    assert {tuple(problem["loc"]) for problem in details["errors"]} == {("body", "quantity"), ("body", "extra")}
    assert all(set(problem) == {"loc", "type", "message"} for problem in details["errors"])


def test_error_body_takes_only_a_mapping() -> None:
    for build in (declarations.error_body, edge_config.error_body):
        assert build("c", "m", {"errors": []}) == {"error": {"code": "c", "message": "m", "details": {"errors": []}}}
        with pytest.raises(TypeError):
            build("c", "m", [{"loc": []}])  # type: ignore[arg-type]


def test_the_documented_error_schema_says_details_is_an_object() -> None:
    detail = openapi.load()["components"]["schemas"]["ErrorDetail"]["properties"]["details"]
    assert detail["type"] == "object"


def test_api_gateways_bad_body_response_has_the_same_shape() -> None:
    from infra.components.api_gateway import BAD_REQUEST_BODY_TEMPLATE

    template = json.loads(BAD_REQUEST_BODY_TEMPLATE)
    assert template["error"]["code"] == "validation_error"
    assert template["error"]["details"] == {"errors": []}


def test_every_operation_documents_what_the_edge_and_api_gateway_answer() -> None:
    for path, operations in openapi.load()["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"400", "401", "403", "413", "414", "422", "429", "500"} <= documented, (method, path)
            if "requestBody" in operation:
                assert "415" in documented, (method, path)
