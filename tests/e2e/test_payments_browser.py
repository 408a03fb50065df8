"""Paying in the browser: the storefront's card Element (localstripe's Stripe.js stand-in under the
storefront's CSP), confirmed with the order's client secret, the order page following the webhook to
``paid``; a declined card leaves the order payable with its stock reserved, and cancelling it gives
the stock back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from shop.declarations import ORDER_TOKEN_HEADER
from tests.e2e.conftest import LocalPlatform, api
from tests.e2e.test_storefront import _catalog, _watch, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e

PAYS = "4242424242424242"
DECLINES_WHEN_CHARGED = "4000000000000341"
REQUIRES_3D_SECURE = "4000002500003155"
PAID_WITHIN_MS = 15_000


def database_url(platform: LocalPlatform) -> str:
    found = re.search(r"^\s+postgres\s+(\S+)", platform.log_path.read_text(errors="replace"), re.M)
    assert found, platform.output()
    return found.group(1)


def stock_of(platform: LocalPlatform, product_id: str) -> int:
    with psycopg.connect(database_url(platform), autocommit=True) as conn:
        row = conn.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:  # noqa: F811 (the imported fixture)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        yield context
    finally:
        context.close()


def fill_card(page: Page, number: str, host: str = "#card-element") -> None:
    """Type a card into the card Element (localstripe's stand-in renders plain inputs)."""
    card = page.locator(host)
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
        card.locator(f'input[placeholder="{placeholder}"]').fill(value)
    card.locator('input[placeholder="postal_code"]').fill("12345")


def check_out(page: Page, platform: LocalPlatform, product: dict[str, Any], card: str, challenge: str = "") -> str:
    """Add one ``product`` to the cart, fill the checkout form and the card, place the order: its id.
    ``challenge``: the 3-D Secure dialog's button to press before the order page shows."""
    page.goto(f"{platform.url}/#/product/{product['id']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    page.get_by_test_id("cart-link").click()
    page.get_by_label("Email for the confirmation").fill("payer@example.com")
    page.get_by_label("Full name").fill("Grace Payer")
    page.get_by_label("Address").fill("2 Market Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("US")
    expect(page.locator('#card-element input[placeholder="number"]')).to_be_visible()
    fill_card(page, card)
    page.get_by_role("button", name="Place order and pay").click()
    if challenge:
        page.get_by_role("button", name=challenge).click()
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    order_id = confirmation.get_attribute("data-order-id")
    assert order_id
    return order_id


def stored_order(page: Page, platform: LocalPlatform, order_id: str) -> dict[str, Any]:
    tokens = page.evaluate("JSON.parse(localStorage.getItem('shop.orderTokens'))")
    reply = api(platform, "GET", f"/api/orders/{order_id}", headers={ORDER_TOKEN_HEADER: tokens[order_id]})
    assert reply.status_code == 200, reply.text
    order: dict[str, Any] = reply.json()
    return order


def in_stock(platform: LocalPlatform, at_least: int = 3) -> dict[str, Any]:
    return next(p for p in _catalog(platform) if p["stock"] >= at_least)


def test_the_test_card_pays_and_the_order_page_shows_paid(
    context: BrowserContext, local_platform: LocalPlatform, artifacts: Path
) -> None:
    page = context.new_page()
    problems = _watch(page)
    product = in_stock(local_platform)
    before = stock_of(local_platform, product["id"])
    order_id = check_out(page, local_platform, product, PAYS)
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=PAID_WITHIN_MS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Your order is paid")
    expect(page.get_by_test_id("status")).to_have_text("Payment confirmed. Thank you for your order!")
    expect(page.get_by_test_id("payment-form")).to_have_count(0)
    page.screenshot(path=str(artifacts / "payment-1-paid.png"), full_page=True)

    order = stored_order(page, local_platform, order_id)
    assert order["status"] == "paid"
    # Paid by Stripe's webhook (not by the browser): the history's cause is the event.
    moves = [(e["from_status"], e["to_status"]) for e in order["history"]]
    assert moves == [(None, "pending_payment"), ("pending_payment", "paid")]
    assert order["history"][1]["cause"].startswith("stripe:evt_")
    assert stock_of(local_platform, product["id"]) == before - 1
    # The card number never reached our API or its logs.
    assert PAYS not in local_platform.log_path.read_text(errors="replace")
    assert problems == []


def test_a_declined_card_keeps_the_order_payable_and_another_card_pays_it(
    context: BrowserContext, local_platform: LocalPlatform, artifacts: Path
) -> None:
    page = context.new_page()
    problems = _watch(page)
    product = in_stock(local_platform)
    before = stock_of(local_platform, product["id"])
    order_id = check_out(page, local_platform, product, DECLINES_WHEN_CHARGED)

    error = page.get_by_test_id("error-message")
    expect(error).to_have_text("Your card was declined. No money was taken; try another card.")
    expect(page.get_by_test_id("order-status")).to_have_text("pending_payment")
    expect(page.get_by_role("heading", name="Try another card")).to_be_visible()
    page.screenshot(path=str(artifacts / "payment-2-declined.png"), full_page=True)
    # The order keeps its reservation: the stock is held for it, not lost and not sold twice.
    assert stored_order(page, local_platform, order_id)["status"] == "pending_payment"
    assert stock_of(local_platform, product["id"]) == before - 1

    # Another card on the same order (the same PaymentIntent) pays it.
    fill_card(page, PAYS)
    page.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=PAID_WITHIN_MS)
    expect(error).to_be_hidden()
    page.screenshot(path=str(artifacts / "payment-3-retried.png"), full_page=True)
    order = stored_order(page, local_platform, order_id)
    assert order["status"] == "paid"
    assert stock_of(local_platform, product["id"]) == before - 1
    # Chromium reports the decline's 402 from localstripe on the console; nothing else went wrong.
    assert [p for p in problems if "status of 402" not in p] == []


def test_a_declined_order_cancelled_by_the_shopper_gives_its_stock_back(
    context: BrowserContext, local_platform: LocalPlatform, artifacts: Path
) -> None:
    page = context.new_page()
    product = in_stock(local_platform)
    before = stock_of(local_platform, product["id"])
    order_id = check_out(page, local_platform, product, DECLINES_WHEN_CHARGED)
    expect(page.get_by_test_id("error-message")).to_contain_text("declined")
    assert stock_of(local_platform, product["id"]) == before - 1

    page.get_by_test_id("cancel-order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("cancelled")
    expect(page.get_by_test_id("status")).to_have_text("Your order was cancelled. Nothing was charged.")
    page.screenshot(path=str(artifacts / "payment-4-cancelled.png"), full_page=True)
    assert stored_order(page, local_platform, order_id)["status"] == "cancelled"
    assert stock_of(local_platform, product["id"]) == before
    # The catalog shows it too.
    assert api(local_platform, "GET", f"/api/products/{product['id']}").json()["stock"] == before


def test_stripe_js_comes_from_the_configured_origin_under_the_csp(local_platform: LocalPlatform) -> None:
    config = api(local_platform, "GET", "/api/storefront-config").json()
    origin = re.match(r"^https?://[^/]+", config["stripe"]["js_url"])
    assert origin
    csp = api(local_platform, "GET", "/").headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    # Exactly our origin and localstripe's for scripts and API calls (plus, for calls, the moto
    # server's: the browser's Cognito sign-in and S3 uploads); frames only localstripe's.
    moto = config["cognito"]["endpoint"].rstrip("/")
    assert directives["script-src"] == ["'self'", origin.group(0)]
    assert directives["connect-src"] == ["'self'", origin.group(0), moto]
    assert directives["frame-src"] == [origin.group(0)]


def test_a_card_that_asks_for_3d_secure_pays_once_authenticated_and_not_when_it_fails(
    context: BrowserContext, local_platform: LocalPlatform, artifacts: Path
) -> None:
    page = context.new_page()
    product = in_stock(local_platform)
    # The stand-in's challenge: failing it leaves the order payable with a clear message.
    order_id = check_out(page, local_platform, product, REQUIRES_3D_SECURE, challenge="Fail authentication")
    expect(page.get_by_test_id("error-message")).to_contain_text("the card was not authenticated")
    expect(page.get_by_test_id("order-status")).to_have_text("pending_payment")
    assert stored_order(page, local_platform, order_id)["status"] == "pending_payment"
    # Again with the same card, this time completing the challenge.
    fill_card(page, REQUIRES_3D_SECURE)
    page.get_by_test_id("pay-submit").click()
    page.screenshot(path=str(artifacts / "payment-5-3d-secure.png"), full_page=True)
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=PAID_WITHIN_MS)
    assert stored_order(page, local_platform, order_id)["status"] == "paid"
