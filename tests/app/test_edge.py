"""The Lambda@Edge viewer-request function, driven with CloudFront's real event shape."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from shop import declarations
from shop.edge import config as edge_config
from shop.edge import handler as edge

EDGE_DIR = Path(edge.__file__).parent
OPEN = edge_config.EdgeConfig(environment="prod")
CREDENTIAL = "shopper:correct horse battery staple"
LOCKED = edge_config.EdgeConfig(environment="dev", basic_auth_sha256=hashlib.sha256(CREDENTIAL.encode()).hexdigest())


def cf_request(
    uri: str = "/",
    method: str = "GET",
    querystring: str = "",
    headers: dict[str, str | list[str]] | None = None,
) -> dict[str, Any]:
    """A viewer-request ``Records[0].cf.request`` as CloudFront sends it."""
    all_headers: dict[str, str | list[str]] = {"host": "d111111abcdef8.cloudfront.net", "user-agent": "test/1.0"}
    all_headers.update(headers or {})
    return {
        "clientIp": "203.0.113.178",
        "method": method,
        "uri": uri,
        "querystring": querystring,
        "headers": {
            name.lower(): [{"key": name, "value": v} for v in (value if isinstance(value, list) else [value])]
            for name, value in all_headers.items()
        },
    }


def cf_event(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "viewer-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": request,
                }
            }
        ]
    }


def basic(credential: str) -> str:
    return "Basic " + base64.b64encode(credential.encode()).decode()


def assert_rejected(result: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    """A generated response with the API's stable error body, a request id, within Lambda@Edge's size limit."""
    assert result.get("status") == str(status), result
    assert result["statusDescription"]
    headers = result["headers"]
    assert headers["content-type"] == [{"key": "Content-Type", "value": "application/json"}]
    assert headers["cache-control"][0]["value"] == "no-store"
    assert uuid.UUID(headers["x-request-id"][0]["value"])
    for name, entries in headers.items():
        assert all(e["key"].lower() == name for e in entries)
    body = json.loads(result["body"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert len(json.dumps(result).encode()) <= edge.MAX_GENERATED_RESPONSE_BYTES
    return body


def assert_forwarded(result: dict[str, Any]) -> dict[str, Any]:
    assert "status" not in result, result
    assert "uri" in result and "method" in result
    return result


# ---------------------------------------------------------------- pass-through and request id


@pytest.mark.parametrize("method", edge.ALLOWED_METHODS)
def test_forwards_allowed_methods_and_adds_request_id(method: str) -> None:
    request = cf_request("/api/products", method=method, querystring="category=books&limit=5")
    original = copy.deepcopy(request)
    result = assert_forwarded(edge.process(request, OPEN))
    ids = result["headers"]["x-request-id"]
    assert len(ids) == 1 and ids[0]["key"] == "X-Request-Id"
    assert uuid.UUID(ids[0]["value"]).version == 4
    # Nothing else about the request changes.
    del result["headers"]["x-request-id"]
    assert result == original


def test_each_request_gets_its_own_id() -> None:
    ids = {edge.process(cf_request("/"), OPEN)["headers"]["x-request-id"][0]["value"] for _ in range(50)}
    assert len(ids) == 50


def test_keeps_a_well_formed_incoming_request_id() -> None:
    result = edge.process(cf_request("/", headers={"X-Request-Id": "abc-123.trace:7"}), OPEN)
    assert result["headers"]["x-request-id"] == [{"key": "X-Request-Id", "value": "abc-123.trace:7"}]


@pytest.mark.parametrize(
    "incoming",
    ["x" * 129, "has space", "<script>", "-leading-dash", "", ["one", "two"]],
)
def test_replaces_a_malformed_incoming_request_id(incoming: str | list[str]) -> None:
    result = assert_forwarded(edge.process(cf_request("/", headers={"X-Request-Id": incoming}), OPEN))
    ids = result["headers"]["x-request-id"]
    assert len(ids) == 1
    assert uuid.UUID(ids[0]["value"]).version == 4


def test_rejection_echoes_the_incoming_request_id() -> None:
    result = edge.process(cf_request("/api/admin/products", headers={"X-Request-Id": "trace-42"}), OPEN)
    assert result["headers"]["x-request-id"][0]["value"] == "trace-42"


# ---------------------------------------------------------------- admin


@pytest.mark.parametrize(
    "uri",
    [
        "/api/admin",
        "/api/admin/",
        "/api/admin/products",
        "/api/admin/products/p-1/stock",
        "/API/Admin/products",
        "//api//admin/products",
        "/api/%61dmin/products",
        "/api/%2561dmin/products",
        "/api/admin;jsessionid=1/products",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_admin_paths_without_a_token_are_401(uri: str, method: str) -> None:
    result = edge.process(cf_request(uri, method=method), OPEN)
    assert_rejected(result, 401, "unauthorized")
    # Not a Basic challenge: the back office signs in with Cognito, not with the browser's dialog.
    assert "www-authenticate" not in result["headers"]


@pytest.mark.parametrize(
    "value", ["", " ", "Bearer", "Bearer  ", ["header.payload.sig", "header.payload.sig"]], ids=repr
)
def test_admin_paths_with_an_empty_or_repeated_token_are_401(value: str | list[str]) -> None:
    request = cf_request("/api/admin/products", method="POST", headers={declarations.ID_TOKEN_HEADER: value})
    assert_rejected(edge.process(request, OPEN), 401, "unauthorized")


@pytest.mark.parametrize("value", ["header.payload.sig", "Bearer header.payload.sig", "bearer x"])
def test_admin_paths_with_a_token_are_forwarded_for_the_function_to_verify(value: str) -> None:
    request = cf_request(
        "/api/admin/orders", headers={declarations.ID_TOKEN_HEADER: value, declarations.API_KEY_HEADER: "k"}
    )
    forwarded = assert_forwarded(edge.process(request, OPEN))
    assert forwarded["headers"][declarations.ID_TOKEN_HEADER.lower()][0]["value"] == value
    # Behind CloudFront the API key means nothing: it is never forwarded on admin paths.
    assert declarations.API_KEY_HEADER.lower() not in forwarded["headers"]


def test_the_back_office_page_is_served_from_its_index() -> None:
    forwarded = assert_forwarded(edge.process(cf_request("/admin/"), OPEN))
    assert forwarded["uri"] == "/admin/index.html"
    assert assert_forwarded(edge.process(cf_request("/admin/js/main.js"), OPEN))["uri"] == "/admin/js/main.js"
    redirect = edge.process(cf_request("/admin"), OPEN)
    assert redirect["status"] == "301"
    assert redirect["headers"]["location"][0]["value"] == "/admin/"
    # Outside prod the storefront credential still comes first.
    assert_rejected(edge.process(cf_request("/admin/"), LOCKED), 401, "unauthorized")


def test_an_api_key_alone_does_not_open_admin_paths() -> None:
    request = cf_request("/api/admin/products", method="POST", headers={declarations.API_KEY_HEADER: "partner"})
    assert_rejected(edge.process(request, OPEN), 401, "unauthorized")


@pytest.mark.parametrize("uri", ["/api/administrators", "/admin/x", "/api/products/admin", "/static/api/admin"])
def test_does_not_overmatch_admin(uri: str) -> None:
    assert_forwarded(edge.process(cf_request(uri), OPEN))


def test_admin_needs_a_token_even_with_a_valid_credential() -> None:
    request = cf_request("/api/admin/products", method="POST", headers={"Authorization": basic(CREDENTIAL)})
    assert_rejected(edge.process(request, LOCKED), 401, "unauthorized")


def test_admin_with_a_token_still_needs_the_storefront_credential_outside_prod() -> None:
    token = {declarations.ID_TOKEN_HEADER: "header.payload.sig"}
    assert_rejected(edge.process(cf_request("/api/admin/orders", headers=token), LOCKED), 401, "unauthorized")
    both = cf_request("/api/admin/orders", headers={**token, "Authorization": basic(CREDENTIAL)})
    forwarded = assert_forwarded(edge.process(both, LOCKED))
    assert "authorization" not in forwarded["headers"]


# ---------------------------------------------------------------- malformed and oversized


@pytest.mark.parametrize("method", ["PATCH", "TRACE", "CONNECT", "PROPFIND", "get", ""])
def test_rejects_other_methods(method: str) -> None:
    result = edge.process(cf_request("/", method=method), OPEN)
    assert_rejected(result, 405, "method_not_allowed")
    assert result["headers"]["allow"][0]["value"] == "GET, HEAD, OPTIONS, PUT, POST, DELETE"


def test_uri_length_limit() -> None:
    at_limit = "/" + "a" * (edge.MAX_URI_LENGTH - 1)
    assert_forwarded(edge.process(cf_request(at_limit), OPEN))
    assert_rejected(edge.process(cf_request(at_limit + "a"), OPEN), 414, "uri_too_long")


def test_querystring_length_limit() -> None:
    at_limit = "q=" + "a" * (edge.MAX_QUERYSTRING_LENGTH - 2)
    assert_forwarded(edge.process(cf_request("/", querystring=at_limit), OPEN))
    assert_rejected(edge.process(cf_request("/", querystring=at_limit + "a"), OPEN), 414, "uri_too_long")


def test_header_count_limit() -> None:
    base = len(cf_request()["headers"])
    ok = {f"X-Extra-{i}": "v" for i in range(edge.MAX_HEADER_COUNT - base)}
    assert_forwarded(edge.process(cf_request(headers=ok), OPEN))
    too_many = {f"X-Extra-{i}": "v" for i in range(edge.MAX_HEADER_COUNT - base + 1)}
    assert_rejected(edge.process(cf_request(headers=too_many), OPEN), 413, "request_too_large")


def test_repeated_header_values_count_towards_the_limit() -> None:
    request = cf_request(headers={"Cookie": ["a=b"] * edge.MAX_HEADER_COUNT})
    assert_rejected(edge.process(request, OPEN), 413, "request_too_large")


def test_header_size_limit() -> None:
    assert_forwarded(edge.process(cf_request(headers={"Cookie": "c" * 8000}), OPEN))
    huge = {"Cookie": "c" * 8000, "X-Big": "b" * 8000, "X-Bigger": "b" * 1000}
    assert_rejected(edge.process(cf_request(headers=huge), OPEN), 413, "request_too_large")


def test_body_size_limit() -> None:
    ok = cf_request("/api/checkout", method="POST", headers={"Content-Length": str(edge.MAX_BODY_BYTES)})
    assert_forwarded(edge.process(ok, OPEN))
    big = cf_request("/api/checkout", method="POST", headers={"Content-Length": str(edge.MAX_BODY_BYTES + 1)})
    assert_rejected(edge.process(big, OPEN), 413, "request_too_large")


@pytest.mark.parametrize("value", ["-1", "ten", "1e3", ["10", "20"]])
def test_rejects_malformed_content_length(value: str | list[str]) -> None:
    request = cf_request("/api/checkout", method="POST", headers={"Content-Length": value})
    assert_rejected(edge.process(request, OPEN), 400, "bad_request")


@pytest.mark.parametrize(
    "uri",
    [
        "/../etc/passwd",
        "/static/../../secret",
        "/api/products/..",
        "/./index.html",
        "/static/%2e%2e/secret",
        "/static/%2E%2E%2Fsecret",
        "/static/%252e%252e/secret",
        "/static/..%5csecret",
        "/static\\..\\secret",
    ],
)
def test_rejects_path_traversal(uri: str) -> None:
    assert_rejected(edge.process(cf_request(uri), OPEN), 400, "bad_request")


@pytest.mark.parametrize(
    "uri",
    [
        "relative/path",
        "/bad%zzescape",
        "/trailing%2",
        "/nul%00byte",
        "/not-utf8-%ff",
        "/tab\x01char",
        "/with space",
        "/%25252525252e",
    ],
)
def test_rejects_malformed_paths(uri: str) -> None:
    assert_rejected(edge.process(cf_request(uri), OPEN), 400, "bad_request")


@pytest.mark.parametrize("querystring", ["a=%zz", "a=b c", "a=\x00"])
def test_rejects_malformed_query_strings(querystring: str) -> None:
    assert_rejected(edge.process(cf_request("/", querystring=querystring), OPEN), 400, "bad_request")


def test_rejects_control_characters_in_header_values() -> None:
    request = cf_request(headers={"X-Forwarded-Thing": "a\r\nSet-Cookie: x=1"})
    assert_rejected(edge.process(request, OPEN), 400, "bad_request")


def test_allows_ordinary_encoded_paths() -> None:
    for uri in ["/api/products/p%2D1", "/images/caf%C3%A9.png", "/a..b/c", "/index.html"]:
        assert_forwarded(edge.process(cf_request(uri), OPEN))


# ---------------------------------------------------------------- storefront credential


def test_locked_storefront_requires_a_credential() -> None:
    result = edge.process(cf_request("/"), LOCKED)
    assert_rejected(result, 401, "unauthorized")
    challenge = result["headers"]["www-authenticate"][0]
    assert challenge["key"] == "WWW-Authenticate"
    assert challenge["value"].startswith("Basic realm=")


@pytest.mark.parametrize(
    "authorization",
    [
        basic("shopper:wrong"),
        basic("shopper:correct horse battery staple "),
        basic("other:correct horse battery staple"),
        "Bearer " + base64.b64encode(CREDENTIAL.encode()).decode(),
        "Basic !!!not-base64!!!",
        "Basic",
        base64.b64encode(CREDENTIAL.encode()).decode(),
    ],
)
def test_wrong_credentials_are_rejected(authorization: str) -> None:
    request = cf_request("/api/products", headers={"Authorization": authorization})
    assert_rejected(edge.process(request, LOCKED), 401, "unauthorized")


@pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC"])
def test_right_credential_passes_and_is_not_forwarded(scheme: str) -> None:
    token = base64.b64encode(CREDENTIAL.encode()).decode()
    request = cf_request("/api/products", headers={"Authorization": f"{scheme} {token}"})
    result = assert_forwarded(edge.process(request, LOCKED))
    assert "authorization" not in result["headers"]
    assert uuid.UUID(result["headers"]["x-request-id"][0]["value"])


def test_health_check_is_exempt_from_the_credential() -> None:
    assert_forwarded(edge.process(cf_request(declarations.HEALTH_PATH), LOCKED))
    # ...but only the health check itself.
    assert_rejected(edge.process(cf_request(declarations.HEALTH_PATH + "x"), LOCKED), 401, "unauthorized")


def test_the_stripe_webhook_is_exempt_from_the_credential_but_only_that_path() -> None:
    assert_forwarded(edge.process(cf_request(declarations.STRIPE_WEBHOOK_PATH, method="POST"), LOCKED))
    for path in (declarations.STRIPE_WEBHOOK_PATH + "x", "/api/webhooks", "/api/webhooks/other"):
        assert_rejected(edge.process(cf_request(path, method="POST"), LOCKED), 401, "unauthorized")


def test_open_storefront_needs_no_credential() -> None:
    assert_forwarded(edge.process(cf_request("/"), OPEN))


# ---------------------------------------------------------------- configuration


def test_render_and_load_round_trip(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"u:p").hexdigest()
    path = tmp_path / edge_config.CONFIG_FILENAME
    path.write_text(edge_config.render_config("staging", digest))
    assert edge_config.load_config(path) == edge_config.EdgeConfig("staging", digest)
    path.write_text(edge_config.render_config("prod", None))
    loaded = edge_config.load_config(path)
    assert loaded == edge_config.EdgeConfig("prod", None)
    assert not loaded.require_auth


@pytest.mark.parametrize(
    ("environment", "digest"),
    [
        ("qa", None),
        ("dev", "not-a-digest"),
        ("dev", hashlib.sha256(b"u:p").hexdigest().upper()),
        ("prod", hashlib.sha256(b"u:p").hexdigest()),
    ],
)
def test_render_refuses_bad_config(environment: str, digest: str | None) -> None:
    with pytest.raises(ValueError, match="edge config"):
        edge_config.render_config(environment, digest)


@pytest.mark.parametrize("text", ["[]", '{"environment": 1}', '{"environment": "dev", "basic_auth_sha256": 5}'])
def test_load_refuses_malformed_config(text: str) -> None:
    with pytest.raises(ValueError, match="edge config"):
        edge_config.parse_config(text)


def test_constants_mirror_the_shared_declarations() -> None:
    assert edge_config.HEALTH_PATH == declarations.HEALTH_PATH
    assert edge_config.STRIPE_WEBHOOK_PATH == declarations.STRIPE_WEBHOOK_PATH
    assert edge_config.ADMIN_PREFIX == declarations.ADMIN_PREFIX
    assert edge_config.ID_TOKEN_HEADER == declarations.ID_TOKEN_HEADER
    assert edge_config.API_KEY_HEADER == declarations.API_KEY_HEADER
    assert edge_config.REQUEST_ID_HEADER == declarations.REQUEST_ID_HEADER


# ---------------------------------------------------------------- the package B zips


def _package_files() -> list[Path]:
    return sorted(p for p in EDGE_DIR.glob("*.py"))


def test_package_is_small_and_standard_library_only() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files():
            archive.write(path, path.name)
        archive.writestr(edge_config.CONFIG_FILENAME, edge_config.render_config("dev", LOCKED.basic_auth_sha256))
    assert buffer.tell() < 1024 * 1024  # Lambda@Edge viewer-request package limit
    for path in _package_files():
        source = path.read_text()
        assert "import shop" not in source and "from shop" not in source, path.name


def test_package_runs_standalone_as_top_level_handler(tmp_path: Path) -> None:
    """Copy what B zips into a bare directory and run ``handler.handler`` there, without ``shop`` importable."""
    for path in _package_files():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / edge_config.CONFIG_FILENAME).write_text(
        edge_config.render_config("dev", LOCKED.basic_auth_sha256), encoding="utf-8"
    )
    events = {
        "anonymous": cf_event(cf_request("/index.html")),
        "authorized": cf_event(cf_request("/index.html", headers={"Authorization": basic(CREDENTIAL)})),
        "admin": cf_event(cf_request("/api/admin/products", headers={"Authorization": basic(CREDENTIAL)})),
        "health": cf_event(cf_request("/api/health")),
    }
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "sys.modules['shop'] = None  # the zip has no shop package\n"
        "import handler\n"
        "events = json.load(sys.stdin)\n"
        "print(json.dumps({k: handler.handler(e, None) for k, e in events.items()}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-c", script],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    *log_lines, output = completed.stdout.strip().splitlines()
    results = json.loads(output)
    assert_rejected(results["anonymous"], 401, "unauthorized")
    assert_forwarded(results["authorized"])
    assert "authorization" not in results["authorized"]["headers"]
    assert_rejected(results["admin"], 401, "unauthorized")
    assert_forwarded(results["health"])
    # Each rejection logs one JSON line.
    logged = [json.loads(line) for line in log_lines]
    assert sorted(entry["status"] for entry in logged) == [401, 401]
