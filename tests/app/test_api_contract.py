"""The API as a whole: routes match shop.declarations, the OpenAPI file is current, errors keep their shape."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from typing import Any

import psycopg
import pytest

from shop.api import openapi
from shop.api.app import SIGN_IN_OPTIONAL
from shop.api.handler import resolvers
from shop.declarations import ROUTES
from tests.app.conftest import Call, invoke
from tests.app.events import alb_event, rest_event


def _routes(resolver: Any) -> set[tuple[str, str]]:
    found = set()
    for route in resolver._static_routes + resolver._dynamic_routes:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        found.add((route.method, path))
    return found


def test_resolvers_serve_exactly_the_declared_routes() -> None:
    apps = resolvers()
    declared = {(route.method, route.path) for route in ROUTES}
    assert _routes(apps["rest"]) == declared
    # Behind CloudFront too: back-office routes with a token (the edge and the ALB require one).
    assert _routes(apps["alb"]) == declared


def test_openapi_file_is_current() -> None:
    assert openapi.DEFAULT_OUTPUT.read_text(encoding="utf-8") == openapi.render(), (
        "src/shop/api/openapi.json is stale: run python -m shop.api.openapi"
    )
    assert openapi.main(["--check"]) == 0


def test_openapi_matches_the_declarations() -> None:
    document = openapi.load()
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == {(route.method, route.path) for route in ROUTES}
    schemas = document["components"]["schemas"]
    for route in ROUTES:
        operation = operations[(route.method, route.path)]
        assert operation["operationId"] == route.operation
        if route.body:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{route.body}"
            assert schemas[route.body]["additionalProperties"] is False
        else:
            assert "requestBody" not in operation
        if route.access == "public":
            # Public, and a signed-in customer's token optional where the operation reads it.
            optional = [{}, {"cognitoIdToken": []}]
            assert operation.get("security") == (optional if route.operation in SIGN_IN_OPTIONAL else None)
        else:
            assert "security" in operation
        if route.access == "customer":
            assert operation["security"] == [{"cognitoIdToken": []}]
            assert "401" in operation["responses"]
        if route.access in ("admin", "staff"):
            assert operation["security"] == [{"apiKey": []}, {"cognitoIdToken": []}]
            assert {"401", "403"} <= set(operation["responses"])
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert query == set(route.query), route.operation
        error = operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
        assert error == "#/components/schemas/ErrorBody"


def test_openapi_check_fails_on_a_stale_file(tmp_path: Any) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(json.dumps({"openapi": "3.0.0"}))
    assert openapi.main(["--check", "--output", str(stale)]) == 1
    assert openapi.main(["--output", str(stale)]) == 0
    assert openapi.main(["--check", "--output", str(stale)]) == 0


def test_unknown_routes_are_404_in_our_shape(api: Call) -> None:
    for method, path in (("GET", "/api/nothing"), ("POST", "/api/nothing/else"), ("GET", "/")):
        reply = api(method, path)
        assert reply.status == 404
        assert set(reply.body) == {"error"}
        assert set(reply.body["error"]) == {"code", "message", "details"}
        assert reply.error_code == "not_found"


def test_unsupported_content_type_is_415(api: Call, shop: Any) -> None:
    cart = api("POST", "/api/carts").body["cart_id"]
    reply = api(
        "PUT",
        f"/api/carts/{cart}/items/{shop['MUG-001']['id']}",
        raw_body="quantity=1",
        headers={"Content-Type": "text/plain"},
    )
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(b'{"cart_id": "\x16\xff\xfe"}').decode(),  # valid base64, not UTF-8
        "not*base64!",  # not base64 at all
    ],
)
def test_undecodable_base64_body_is_400_and_writes_nothing(
    source: str, encoded: str, shop: Any, db: psycopg.Connection[tuple[Any, ...]]
) -> None:
    """An ALB passes binary bodies base64-encoded; one that is not UTF-8 JSON is the client's fault."""
    before = db.execute("SELECT count(*) FROM orders").fetchone()
    build = alb_event if source == "alb" else rest_event
    event = build("POST", "/api/checkout", raw_body=encoded)
    event["isBase64Encoded"] = True
    reply = invoke(event)
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert set(reply.body["error"]) == {"code", "message", "details"}
    assert db.execute("SELECT count(*) FROM orders").fetchone() == before


def test_internal_failure_is_500_without_internals(api: Call, shop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.api import observability
    from shop.config import reload
    from shop.db.connection import close_all

    logger = observability.logger()
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)

    # A misconfigured function (no database settings at all) is a bug, not an outage.
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("DATABASE_READER_URL")
    reload()
    close_all()
    try:
        reply = api("GET", f"/api/products/{shop['MUG-001']['id']}", headers={"X-Request-Id": "corr-500"})
    finally:
        logger.removeHandler(capture)
    assert (reply.status, reply.error_code) == (500, "internal_error")
    assert reply.body["error"]["message"] == "internal error"
    assert "Traceback" not in json.dumps(reply.body) and "DATABASE_URL" not in json.dumps(reply.body)
    # The failure is logged with the correlation id.
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [entry for entry in logged if entry.get("message") == "unhandled error"]
    assert errors and errors[-1]["correlation_id"] == "corr-500"
    assert "exception" in errors[-1]


def test_health_needs_no_database(api: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.config import reload
    from shop.db.connection import close_all

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("DATABASE_READER_URL", "postgresql://nobody@127.0.0.1:1/none")
    reload()
    close_all()
    reply = api("GET", "/api/health")
    assert (reply.status, reply.body) == (200, {"status": "ok"})
