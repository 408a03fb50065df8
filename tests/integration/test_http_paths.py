"""The three ways in: the storefront through CloudFront, the API through CloudFront
(edge → ALB → function) and through API Gateway with the key."""

from __future__ import annotations

import uuid

import pytest
import requests

from shop.declarations import API_KEY_HEADER, HEALTH_PATH, REQUEST_ID_HEADER
from tests.integration.conftest import Outputs

# The smoke subset (pytest -m smoke, run by the pipeline after each update) is what reads only:
# GETs, and requests refused before they reach the function. The admin-route check sends an
# authenticated PUT to the function, so it stays out.


def _base(url: str) -> str:
    return url.rstrip("/")


@pytest.mark.smoke
def test_the_storefront_loads_through_cloudfront(
    outputs: Outputs, http: requests.Session, storefront_auth: tuple[str, str] | None
) -> None:
    site = _base(outputs.need("storefrontUrl"))
    assert site.startswith("https://")
    page = http.get(f"{site}/", auth=storefront_auth)
    assert page.status_code == 200, page.text[:300]
    assert "text/html" in page.headers["Content-Type"]
    assert "<html" in page.text.lower()
    # Security headers come from CloudFront's response headers policy.
    assert "max-age=" in page.headers.get("Strict-Transport-Security", "")
    assert page.headers.get("X-Content-Type-Options") == "nosniff"
    # Plain HTTP is redirected, never served.
    plain = http.get(site.replace("https://", "http://", 1) + "/", allow_redirects=False)
    assert plain.status_code in (301, 302, 307, 308)


@pytest.mark.smoke
def test_a_non_prod_storefront_asks_for_the_credential(outputs: Outputs, http: requests.Session) -> None:
    site = _base(outputs.need("storefrontUrl"))
    response = http.get(f"{site}/")
    if outputs.is_prod:
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.smoke
def test_the_api_answers_through_cloudfront(
    outputs: Outputs, http: requests.Session, storefront_auth: tuple[str, str] | None
) -> None:
    site = _base(outputs.need("storefrontUrl"))
    request_id = f"it-{uuid.uuid4()}"
    health = http.get(f"{site}{HEALTH_PATH}", headers={REQUEST_ID_HEADER: request_id})
    assert health.status_code == 200, health.text[:300]
    assert health.json() == {"status": "ok"}
    assert health.headers[REQUEST_ID_HEADER] == request_id
    products = http.get(f"{site}/api/products", params={"limit": 5}, auth=storefront_auth)
    assert products.status_code == 200, products.text[:300]
    body = products.json()
    assert isinstance(body["items"], list) and "next_cursor" in body


@pytest.mark.smoke
def test_the_edge_rejects_admin_paths_without_a_token(
    outputs: Outputs, http: requests.Session, storefront_auth: tuple[str, str] | None
) -> None:
    """Behind CloudFront the back office needs an ID token; the partner API key opens nothing there."""
    site = _base(outputs.need("storefrontUrl"))
    for headers in ({}, {"x-api-key": "any-key"}):
        response = http.post(f"{site}/api/admin/products", json={}, auth=storefront_auth, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    forged = http.get(f"{site}/api/admin/orders", auth=storefront_auth, headers={"X-Id-Token": "a.b.c"})
    assert forged.status_code == 401  # forwarded by the edge and the ALB, refused by the function


@pytest.mark.smoke
def test_the_alb_is_not_reachable_directly(outputs: Outputs) -> None:
    dns = outputs.need("albDnsName")
    try:
        response = requests.get(f"http://{dns}{HEALTH_PATH}", timeout=5)
    except requests.RequestException:
        return  # the security group drops the connection: as designed
    raise AssertionError(f"the ALB answered a direct request with {response.status_code}")


@pytest.mark.smoke
def test_the_api_answers_through_api_gateway(outputs: Outputs, http: requests.Session, api_key: str) -> None:
    api = _base(outputs.need("apiUrl"))
    health = http.get(f"{api}{HEALTH_PATH}")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    products = http.get(f"{api}/api/products", params={"limit": 1})
    assert products.status_code == 200
    assert len(products.json()["items"]) <= 1
    invalid = http.get(f"{api}/api/products", params={"limit": 1000})
    assert invalid.status_code in (400, 422)
    assert invalid.json()["error"]["code"] == "validation_error"


def test_admin_routes_need_the_api_key(outputs: Outputs, http: requests.Session, api_key: str) -> None:
    api = _base(outputs.need("apiUrl"))
    # No credential: the back-office authorizer's 401; a key API Gateway does not know: its 403.
    without = http.put(f"{api}/api/admin/products/does-not-exist/stock", json={"stock": 1})
    assert without.status_code == 401
    assert without.json()["error"]["code"] == "unauthorized"
    unknown = http.put(
        f"{api}/api/admin/products/{uuid.uuid4()}/stock", json={"stock": 1}, headers={API_KEY_HEADER: "x" * 40}
    )
    assert unknown.status_code == 403
    forged = http.put(
        f"{api}/api/admin/products/{uuid.uuid4()}/stock", json={"stock": 1}, headers={"X-Id-Token": "a.b.c"}
    )
    assert forged.status_code == 401
    with_key = http.put(
        f"{api}/api/admin/products/{uuid.uuid4()}/stock", json={"stock": 1}, headers={API_KEY_HEADER: api_key}
    )
    assert with_key.status_code == 404, with_key.text[:300]
    assert with_key.json()["error"]["code"] == "not_found"
    # The request validator rejects a bad body before the function runs.
    bad = http.put(
        f"{api}/api/admin/products/{uuid.uuid4()}/stock", json={"stock": -1}, headers={API_KEY_HEADER: api_key}
    )
    assert bad.status_code == 400
