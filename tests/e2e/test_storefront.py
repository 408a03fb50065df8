"""The storefront in headless Chromium against the local platform: browse, add to cart, check out, see the order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from shop.declarations import ORDER_TOKEN_HEADER
from tests.e2e.conftest import CHROMIUM_ARGS, LocalPlatform, api

pytestmark = pytest.mark.e2e


def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Chromium logs every 4xx response on the console; the page handles those (they are expected here).
_HANDLED_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


def _watch(page: Page) -> list[str]:
    """Collect JavaScript errors, console errors (except handled 4xx) and failed requests on the page."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _HANDLED_4XX.match(message.text):
            problems.append(message.text)

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", on_console)
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    return problems


def _catalog(platform: LocalPlatform, **params: Any) -> list[dict[str, Any]]:
    response = api(platform, "GET", "/api/products", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_browse_add_to_cart_check_out_and_see_the_order(
    browser: Browser, local_platform: LocalPlatform, artifacts: Path
) -> None:
    catalog = _catalog(local_platform)
    categories = sorted({p["category"] for p in catalog})
    assert len(categories) > 1, "the sample catalog should span categories"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = _watch(page)

    # Browse: every product is listed, then one category.
    page.goto(local_platform.url + "/")
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(len(catalog))
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    category = categories[0]
    in_category = _catalog(local_platform, category=category)
    page.get_by_label("Category").select_option(category)
    page.get_by_test_id("apply-filters").click()
    expect(page).to_have_url(re.compile(rf"#/\?category={category}$"))
    expect(cards).to_have_count(len(in_category))
    for name in page.get_by_test_id("product-name").all_inner_texts():
        assert name in {p["name"] for p in in_category}
    page.screenshot(path=str(artifacts / "storefront-1-products.png"), full_page=True)

    # Show a product that has enough stock.
    product = next(p for p in in_category if p["stock"] >= 2)
    page.locator(f'[data-testid="product-card"][data-product-id="{product["id"]}"] a').click()
    detail = page.get_by_test_id("product-detail")
    expect(detail).to_be_visible()
    expect(page.get_by_test_id("product-title")).to_have_text(product["name"])
    expect(page.get_by_test_id("product-detail-price")).to_have_text(dollars(product["price_cents"]))
    expect(page.get_by_test_id("product-stock")).to_have_text(f"{product['stock']} in stock")

    # Add two to the cart.
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("status")).to_have_text(f"{product['name']} added to your cart.")
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    page.screenshot(path=str(artifacts / "storefront-2-product.png"), full_page=True)

    # The cart shows the line at the catalog price; the cart id is kept in localStorage.
    page.get_by_test_id("cart-link").click()
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text(product["name"])
    expect(page.get_by_test_id("cart-quantity")).to_have_value("2")
    expect(page.get_by_test_id("cart-total")).to_have_text(dollars(2 * product["price_cents"]))
    cart_id = page.evaluate("localStorage.getItem('shop.cartId')")
    assert cart_id
    server_cart = api(local_platform, "GET", f"/api/carts/{cart_id}").json()
    assert [(line["product_id"], line["quantity"]) for line in server_cart["items"]] == [(product["id"], 2)]

    # Asking for more than the stock shows the API's error and changes nothing.
    assert product["stock"] < 99
    page.get_by_test_id("cart-quantity").fill("99")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_test_id("error-message")).to_be_visible()
    expect(page.get_by_test_id("error-message")).not_to_be_empty()
    expect(page.get_by_test_id("cart-total")).to_have_text(dollars(2 * product["price_cents"]))
    server_cart = api(local_platform, "GET", f"/api/carts/{cart_id}").json()
    assert [(line["product_id"], line["quantity"]) for line in server_cart["items"]] == [(product["id"], 2)]
    page.get_by_test_id("cart-quantity").fill("2")

    # Check out.
    page.get_by_label("Email for the confirmation").fill("e2e@example.com")
    page.get_by_label("Full name").fill("Ada Shopper")
    page.get_by_label("Address").fill("1 Main Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("DE")
    expect(page.get_by_test_id("shipping-total")).to_have_text(dollars(2500))
    expect(page.get_by_test_id("grand-total")).to_have_text(dollars(2 * product["price_cents"] + 2500))
    # Pay with Stripe's test card in the card Element (localstripe's Stripe.js stand-in).
    card = page.locator("#card-element")
    for placeholder, value in (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
        card.locator(f'input[placeholder="{placeholder}"]').fill(value)
    page.screenshot(path=str(artifacts / "storefront-3-cart.png"), full_page=True)
    page.get_by_role("button", name="Place order and pay").click()

    # The confirmation comes from GET /api/orders/{id} with the order token, and follows the
    # payment webhook to paid.
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=15_000)
    expect(page.get_by_test_id("order-email")).to_have_text("e2e@example.com")
    expect(page.get_by_test_id("order-total")).to_have_text(dollars(2 * product["price_cents"] + 2500))
    expect(page.get_by_test_id("order-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    order_id = page.get_by_test_id("order-id").inner_text()
    page.screenshot(path=str(artifacts / "storefront-4-order.png"), full_page=True)

    # The order really exists, is readable with its token only, and the cart was consumed.
    tokens = page.evaluate("JSON.parse(localStorage.getItem('shop.orderTokens'))")
    stored = api(local_platform, "GET", f"/api/orders/{order_id}", headers={ORDER_TOKEN_HEADER: tokens[order_id]})
    assert stored.status_code == 200, stored.text
    assert stored.json()["total_cents"] == 2 * product["price_cents"] + 2500
    assert stored.json()["status"] == "paid"
    assert stored.json()["shipping_address"]["country"] == "DE"
    assert [(line["product_id"], line["quantity"]) for line in stored.json()["items"]] == [(product["id"], 2)]
    assert api(local_platform, "GET", f"/api/orders/{order_id}").status_code == 404
    assert page.evaluate("localStorage.getItem('shop.cartId')") is None

    assert problems == []
    context.close()


def test_storefront_works_at_mobile_width(browser: Browser, local_platform: LocalPlatform, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = _watch(page)
    page.goto(local_platform.url + "/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    product = _catalog(local_platform)[0]
    page.goto(f"{local_platform.url}/#/product/{product['id']}")
    expect(page.get_by_role("button", name=re.compile("Add to cart|Out of stock"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(artifacts / "storefront-mobile-product.png"), full_page=True)
    page.goto(f"{local_platform.url}/#/product/does-not-exist")
    expect(page.get_by_role("heading", level=1)).to_have_text("Product not found")
    assert problems == []
    context.close()


def test_admin_and_traversal_are_rejected_through_the_local_edge(local_platform: LocalPlatform) -> None:
    admin = api(local_platform, "POST", "/api/admin/products", json={"sku": "X"})
    assert admin.status_code == 401  # no ID token (the back office signs in with Cognito)
    assert admin.json()["error"]["code"] == "unauthorized"
    assert admin.headers["X-Request-Id"]
    health = api(local_platform, "GET", "/api/health", headers={"X-Request-Id": "e2e-trace-1"})
    assert health.status_code == 200
    assert health.headers["X-Request-Id"] == "e2e-trace-1"
    assert api(local_platform, "GET", "/static/%2e%2e/pyproject.toml").status_code == 400


def test_storefront_credential_is_enforced_when_asked(tmp_path: Path) -> None:
    platform = LocalPlatform(tmp_path / "data", extra_args=("--storefront-credential", "staff:s3cret")).start()
    try:
        anonymous = api(platform, "GET", "/")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
        assert anonymous.json()["error"]["code"] == "unauthorized"
        assert api(platform, "GET", "/api/products", auth=("staff", "wrong")).status_code == 401
        assert api(platform, "GET", "/", auth=("staff", "s3cret")).status_code == 200
        assert api(platform, "GET", "/api/products", auth=("staff", "s3cret")).status_code == 200
        assert api(platform, "GET", "/api/health").status_code == 200  # the health check stays open
    finally:
        assert platform.stop() == 0, platform.output()


def test_responses_carry_the_cdn_security_headers(local_platform: LocalPlatform) -> None:
    for path in ("/", "/js/main.js", "/api/products", "/api/admin/products", "/missing.html"):
        response = api(local_platform, "GET", path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Request-Id"], path
    index = api(local_platform, "GET", "/")
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'data-testid="cart-count"' in index.text
