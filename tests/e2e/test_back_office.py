"""The back office (storefront/admin/) in headless Chromium against the local platform: sign in as the
seeded admin with Cognito (moto), create a product with an image (a presigned POST to moto's S3,
served back at /media/*), fulfil one paid order and refund another."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shop.declarations import ID_TOKEN_HEADER, LOCAL_MAIL_PATH
from tests.e2e.conftest import CHROMIUM_ARGS, LocalPlatform, api

pytestmark = pytest.mark.e2e

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _admin(platform: LocalPlatform) -> dict[str, str]:
    credentials: dict[str, str] = json.loads((platform.data_dir / "admin-credentials.json").read_text())
    return credentials


def _token(platform: LocalPlatform) -> str:
    config = api(platform, "GET", "/api/storefront-config").json()["cognito"]
    admin = _admin(platform)
    reply = requests.post(
        config["endpoint"],
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        data=json.dumps(
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": config["client_id"],
                "AuthParameters": {"USERNAME": admin["email"], "PASSWORD": admin["password"]},
            }
        ),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["AuthenticationResult"]["IdToken"]
    return token


def _paid_order(platform: LocalPlatform, token: str, email: str) -> dict[str, Any]:
    """An order placed through the API and paid in localstripe (its webhook marks it paid)."""
    product = api(platform, "GET", "/api/products", params={"limit": 100}).json()["items"][0]
    cart = api(platform, "POST", "/api/carts").json()["cart_id"]
    assert api(platform, "PUT", f"/api/carts/{cart}/items/{product['id']}", json={"quantity": 1}).status_code == 200
    placed = api(platform, "POST", "/api/checkout", json={"cart_id": cart, "email": email, "shipping_address": ADDRESS})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    intent = order["client_secret"].split("_secret_")[0]
    stripe = re.match(r"^(https?://[^/]+)", api(platform, "GET", "/api/storefront-config").json()["stripe"]["js_url"])
    assert stripe is not None
    base, auth = stripe.group(1) + "/v1", ("sk_test_e2e", "")
    card = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12"}
    card |= {"card[exp_year]": "2040", "card[cvc]": "123"}
    method = requests.post(f"{base}/payment_methods", data=card, auth=auth, timeout=30).json()["id"]
    requests.post(f"{base}/payment_intents/{intent}", data={"payment_method": method}, auth=auth, timeout=30)
    requests.post(f"{base}/payment_intents/{intent}/confirm", auth=auth, timeout=30)
    headers = {ID_TOKEN_HEADER: token}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = api(platform, "GET", f"/api/admin/orders/{order['order_id']}", headers=headers).json()["status"]
        if status == "paid":
            return dict(order)
        time.sleep(0.3)
    raise AssertionError(f"order {order['order_id']} was not paid (status {status})")


def _sign_in(page: Page, platform: LocalPlatform) -> None:
    admin = _admin(platform)
    page.goto(platform.url + "/admin/")
    page.get_by_test_id("signin-email").fill(admin["email"])
    page.get_by_test_id("signin-password").fill(admin["password"])
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(admin["email"])


def test_admin_signs_in_creates_a_product_with_an_image_fulfils_and_refunds(
    browser: Browser, local_platform: LocalPlatform, artifacts: Path, tmp_path: Path
) -> None:
    token = _token(local_platform)
    shipped = _paid_order(local_platform, token, "ship-me@example.com")
    refunded = _paid_order(local_platform, token, "refund-me@example.com")
    image = tmp_path / "pot.png"
    image.write_bytes(PNG)

    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" and "status of 4" not in message.text else None
        ),
    )

    page.goto(local_platform.url + "/admin/")
    expect(page.get_by_test_id("signin-form")).to_be_visible()
    page.screenshot(path=str(artifacts / "back-office-1-sign-in.png"), full_page=True)
    _sign_in(page, local_platform)
    expect(page.get_by_test_id("order-row").first).to_be_visible()

    # Products: create one with an image; the storefront shows the image from /media/.
    page.get_by_test_id("nav-products").click()
    page.get_by_test_id("product-new").click()
    form = page.get_by_test_id("product-create-form")
    form.get_by_test_id("product-sku").fill("E2E-POT")
    form.get_by_test_id("product-name").fill("Glazed plant pot")
    form.get_by_test_id("product-category").fill("home")
    form.get_by_test_id("product-price").fill("18.50")
    form.get_by_test_id("product-stock").fill("7")
    form.get_by_test_id("product-image").set_input_files(str(image))
    form.get_by_test_id("product-save").click()
    expect(page.get_by_test_id("status")).to_have_text("Product created.")
    row = page.locator('[data-testid="product-row"][data-sku="E2E-POT"]')
    expect(row.get_by_test_id("product-thumb")).to_be_visible()
    src = row.get_by_test_id("product-thumb").get_attribute("src")
    assert src is not None and src.startswith("/media/products/")
    served = api(local_platform, "GET", src)
    assert served.status_code == 200 and served.content == PNG and served.headers["Content-Type"] == "image/png"
    listed = api(local_platform, "GET", "/api/products", params={"limit": 100}).json()["items"]
    storefront = {p["sku"]: p for p in listed}
    assert storefront["E2E-POT"]["image_url"] == src and storefront["E2E-POT"]["price_cents"] == 1850
    page.screenshot(path=str(artifacts / "back-office-2-products.png"), full_page=True)

    # Orders: search by e-mail, open, fulfil with carrier and tracking.
    page.get_by_test_id("nav-orders").click()
    page.get_by_test_id("filter-q").fill("ship-me@")
    page.get_by_test_id("filter-status").select_option("paid")
    page.get_by_test_id("filter-q").press("Enter")
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-order-id", shipped["order_id"])
    page.screenshot(path=str(artifacts / "back-office-3-orders.png"), full_page=True)
    rows.first.get_by_role("link").click()
    page.get_by_test_id("fulfil-carrier").fill("DHL")
    page.get_by_test_id("fulfil-tracking").fill("JD014600006281")
    page.get_by_test_id("fulfil-submit").click()
    expect(page.get_by_test_id("order-shipment")).to_have_text("DHL JD014600006281")
    expect(page.get_by_test_id("order-history")).to_contain_text("paid → fulfilled")
    page.screenshot(path=str(artifacts / "back-office-4-fulfilled.png"), full_page=True)

    # Refund part of the other order.
    page.goto(f"{local_platform.url}/admin/#/orders/{refunded['order_id']}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("refund-amount").fill("5.00")
    page.get_by_test_id("refund-submit").click()
    expect(page.get_by_test_id("order-total")).to_contain_text("refunded $5.00")
    expect(page.get_by_test_id("order-history")).to_contain_text("paid → partially_refunded")
    page.screenshot(path=str(artifacts / "back-office-5-refunded.png"), full_page=True)

    headers = {ID_TOKEN_HEADER: token}
    done = api(local_platform, "GET", f"/api/admin/orders/{refunded['order_id']}", headers=headers).json()
    assert (done["status"], done["refunded_cents"]) == ("partially_refunded", 500)

    # What the two customers received, as the local mailbox shows it (moto's SES, through the
    # outbox, EventBridge, SQS and the notifier): the shipping notice with the tracking reference,
    # and the partial refund.
    wanted = [(shipped["order_id"], "has shipped"), (shipped["order_id"], "JD014600006281")]
    wanted += [(refunded["order_id"], "partially refunded"), (refunded["order_id"], "$5.00")]
    assert _missing_from_mailbox(page, local_platform.url + LOCAL_MAIL_PATH, wanted) == []
    page.screenshot(path=str(artifacts / "back-office-7-mail.png"), full_page=True)
    assert problems == []


def _missing_from_mailbox(page: Page, url: str, wanted: list[tuple[str, str]], timeout: float = 30) -> list[Any]:
    """The (order id, text) pairs no e-mail at ``url`` shows yet, once they all arrived or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        mails = page.locator("li").all_inner_texts()
        missing = [(order, text) for order, text in wanted if not any(order in m and text in m for m in mails)]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def test_a_signed_out_visitor_sees_only_the_sign_in(browser: Browser, local_platform: LocalPlatform) -> None:
    page = browser.new_page()
    page.goto(local_platform.url + "/admin")  # redirected to /admin/
    assert page.url.endswith("/admin/")
    expect(page.get_by_test_id("signin-form")).to_be_visible()
    expect(page.get_by_test_id("admin-nav")).to_be_hidden()
    csp = api(local_platform, "GET", "/admin/").headers["Content-Security-Policy"]
    cognito = api(local_platform, "GET", "/api/storefront-config").json()["cognito"]["endpoint"].rstrip("/")
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert cognito in connect.split()


def test_staff_with_a_temporary_password_sets_one_and_sees_orders_only(
    browser: Browser, local_platform: LocalPlatform, artifacts: Path
) -> None:
    """An account created as the README says (admin-create-user, a temporary password, group staff)."""
    import uuid

    import boto3

    config = api(local_platform, "GET", "/api/storefront-config").json()["cognito"]
    client = boto3.client(
        "cognito-idp",
        endpoint_url=config["endpoint"],
        region_name=config["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    pools = client.list_user_pools(MaxResults=60)["UserPools"]
    (pool,) = [p for p in pools if p["Name"] == "ecommerce-users-local"]
    email = f"staff-{uuid.uuid4().hex[:8]}@shop.localhost"
    client.admin_create_user(
        UserPoolId=pool["Id"],
        Username=email,
        TemporaryPassword="Temp-Passw0rd!x",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    client.admin_add_user_to_group(UserPoolId=pool["Id"], Username=email, GroupName="staff")

    page = browser.new_page()
    page.goto(local_platform.url + "/admin/")
    page.get_by_test_id("signin-email").fill(email)
    page.get_by_test_id("signin-password").fill("Temp-Passw0rd!x")
    page.get_by_test_id("signin-submit").click()
    page.get_by_test_id("new-password").fill("short")
    page.get_by_test_id("new-password").evaluate("el => el.removeAttribute('minlength')")
    page.get_by_test_id("new-password-submit").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("12 or more characters")
    page.get_by_test_id("new-password").fill("My-own-Passw0rd-42")
    page.get_by_test_id("new-password-submit").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("(staff)")
    expect(page.get_by_test_id("nav-products")).to_be_hidden()
    expect(page.get_by_test_id("order-filters")).to_be_visible()
    page.screenshot(path=str(artifacts / "back-office-6-staff.png"), full_page=True)
