"""Customer accounts in headless Chromium against the local platform: the storefront talks to the
moto server's Cognito itself (sign-up, confirmation, sign-in, refresh, sign-out) and to the API with
the ID token: sign-up -> confirm -> sign-in -> checkout prefilled -> my orders, and the cart merge
(items added anonymously join the customer's cart on sign-in)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_storefront
from tests.e2e.conftest import LocalPlatform, api
from tests.e2e.test_payments_browser import PAYS, fill_card
from tests.e2e.test_storefront import _catalog, _watch, dollars

browser = test_storefront.browser  # the Chromium fixture

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-horse-9-battery"


def _add(page: Page, platform: LocalPlatform, product: dict[str, Any], quantity: int, count_after: int) -> None:
    page.goto(f"{platform.url}/#/product/{product['id']}")
    expect(page.get_by_test_id("product-title")).to_have_text(product["name"])
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text(str(count_after))


def _cart_lines(platform: LocalPlatform, page: Page) -> dict[str, int]:
    cart_id = page.evaluate("localStorage.getItem('shop.cartId')")
    cart = api(platform, "GET", f"/api/carts/{cart_id}").json()
    return {line["product_id"]: line["quantity"] for line in cart["items"]}


def test_sign_up_confirm_check_out_prefilled_see_my_orders_and_merge_the_cart(
    browser: Any, local_platform: LocalPlatform, artifacts: Path
) -> None:
    catalog = [p for p in _catalog(local_platform) if p["stock"] >= 5]
    first, second = catalog[0], catalog[1]
    email = f"shopper-{uuid.uuid4().hex[:8]}@shop.test"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = _watch(page)

    # Anonymous: one item in the cart, then sign up from the header's link.
    _add(page, local_platform, first, 1, 1)
    anonymous_cart = page.evaluate("localStorage.getItem('shop.cartId')")
    page.get_by_test_id("account-link").click()
    expect(page.get_by_test_id("signin")).to_be_visible()
    page.get_by_test_id("signup-link").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=False).fill(PASSWORD)
    page.screenshot(path=str(artifacts / "accounts-1-sign-up.png"), full_page=True)
    page.get_by_test_id("signup-submit").click()

    # Confirm with the code (the moto server accepts any code; Cognito mails a real one).
    expect(page.get_by_test_id("confirm")).to_be_visible()
    page.get_by_label("Code from the e-mail").fill("123456")
    page.screenshot(path=str(artifacts / "accounts-2-confirm.png"), full_page=True)
    page.get_by_test_id("confirm-submit").click()

    # Signed in: my account, no orders yet; the anonymous cart became the customer's.
    expect(page.get_by_test_id("account-email")).to_have_text(email)
    expect(page.get_by_test_id("no-orders")).to_be_visible()
    expect(page.get_by_test_id("account-link")).to_have_text("My account")
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    customer_cart = page.evaluate("localStorage.getItem('shop.cartId')")
    assert customer_cart != anonymous_cart
    assert api(local_platform, "GET", f"/api/carts/{anonymous_cart}").status_code == 404
    assert _cart_lines(local_platform, page) == {first["id"]: 1}
    # Tokens: the refresh token in sessionStorage, nothing in cookies or localStorage.
    assert page.evaluate("sessionStorage.getItem('shop.refreshToken')")
    assert context.cookies() == []
    assert "Token" not in " ".join(page.evaluate("Object.keys(localStorage)"))

    # Checkout prefilled with the account's address, which cannot be changed.
    page.get_by_test_id("cart-link").click()
    address = page.get_by_label("Email for the confirmation")
    expect(address).to_have_value(email)
    expect(address).to_have_attribute("readonly", "")
    page.get_by_label("Full name").fill("Ada Shopper")
    page.get_by_label("Address").fill("1 Main Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("US")
    fill_card(page, PAYS)
    page.screenshot(path=str(artifacts / "accounts-3-checkout-prefilled.png"), full_page=True)
    page.get_by_role("button", name="Place order and pay").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=30_000)
    expect(page.get_by_test_id("order-email")).to_have_text(email)
    order_id = page.get_by_test_id("order-id").inner_text()

    # My orders lists it; a reload keeps the customer signed in (refresh token in this tab).
    page.goto(f"{local_platform.url}/#/account")
    orders = page.get_by_test_id("my-order")
    expect(orders).to_have_count(1)
    page.reload()
    expect(page.get_by_test_id("account-email")).to_have_text(email)
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text(first["name"])
    expect(page.get_by_test_id("my-order-status")).to_have_text("paid")
    page.screenshot(path=str(artifacts / "accounts-4-my-orders.png"), full_page=True)
    # The customer opens it without this browser's order token.
    page.evaluate("localStorage.removeItem('shop.orderTokens')")
    orders.first.get_by_role("link").click()
    expect(page.get_by_test_id("order-id")).to_have_text(order_id)

    # Cart merge: two in the customer's cart, sign out, add anonymously, sign in again.
    _add(page, local_platform, first, 2, 2)
    page.goto(f"{local_platform.url}/#/account")
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("account-link")).to_have_text("Sign in")
    expect(page.get_by_test_id("product-card").first).to_be_visible()  # back on the products page
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    assert page.evaluate("sessionStorage.getItem('shop.refreshToken')") is None
    _add(page, local_platform, first, 1, 1)
    _add(page, local_platform, second, 3, 4)
    page.get_by_test_id("account-link").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("account-email")).to_have_text(email)
    expect(page.get_by_test_id("cart-count")).to_have_text("6")
    assert _cart_lines(local_platform, page) == {first["id"]: 3, second["id"]: 3}
    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text(
        dollars(3 * first["price_cents"] + 3 * second["price_cents"])
    )
    page.screenshot(path=str(artifacts / "accounts-5-merged-cart.png"), full_page=True)

    # A wrong password is refused with a message, and nobody is signed in.
    page.goto(f"{local_platform.url}/#/account")
    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("account-link")).to_have_text("Sign in")
    expect(page.get_by_test_id("product-card").first).to_be_visible()  # back on the products page
    page.get_by_test_id("account-link").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("Wrong-password-1!")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("error-message")).to_have_text("The e-mail address or password is not right.")
    expect(page.get_by_test_id("account-link")).to_have_text("Sign in")
    assert page.evaluate("sessionStorage.getItem('shop.refreshToken')") is None

    assert problems == []
    context.close()


def test_the_local_csp_admits_the_cognito_endpoint_the_storefront_is_given(local_platform: LocalPlatform) -> None:
    cognito = api(local_platform, "GET", "/api/storefront-config").json()["cognito"]
    assert cognito["client_id"] and cognito["endpoint"].startswith("http://127.0.0.1:")
    csp = api(local_platform, "GET", "/").headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert cognito["endpoint"].rstrip("/") in directives["connect-src"].split()
    # Only connect-src: no script, frame or form target is opened for it.
    for name in ("script-src", "frame-src", "form-action", "default-src"):
        assert cognito["endpoint"].rstrip("/") not in directives.get(name, ""), name
