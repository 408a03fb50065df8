"""The storefront's catalog at scale and the shopper walkthrough's defects, in headless Chromium
against the local platform (issue 14).

* 5,000 products seeded with one INSERT ... generate_series into the platform's own PostgreSQL:
  every category shows all of its products through "Show more" pages, and search finds products.
* One test per defect: the skip link, the cart at 375 px, focus after Add / Update / Remove, the
  category dropdown and the arrow keys, a rejected quantity, "not enough stock" naming the item and
  what is left, field-level messages for ``a@b`` and for more than 99 of one item, and a
  keyboard-only checkout (Tab, Enter and typing only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from shop.local.services import _running_port
from tests.e2e.conftest import CHROMIUM_ARGS, LocalPlatform, api

pytestmark = pytest.mark.e2e

SEEDED = 5000
# Uneven on purpose: one category alone is larger than the old 2,000-product browser cap.
CATEGORY_WEIGHTS = {"garden": 22, "tools": 9, "toys": 6, "pets": 3}  # of 40; the rest is "stationery"
SEARCHABLE = ("Zephyr lantern", "Zephyr lantern, large", "Zephyrine kite")
_HANDLED_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _HANDLED_4XX.match(message.text):
            problems.append(message.text)

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", on_console)
    return problems


def database_url(platform: LocalPlatform) -> str:
    port = _running_port(platform.data_dir / "postgres")
    assert port, "the platform's PostgreSQL is not running"
    return f"postgresql://postgres@127.0.0.1:{port}/shop"


def seed_catalog(url: str) -> dict[str, set[str]]:
    """SEEDED products in one statement; returns product ids by category (all products, sample ones too)."""
    bounds, total = [], 0
    for category, weight in CATEGORY_WEIGHTS.items():
        total += weight
        bounds.append(f"WHEN n %% 40 < {total} THEN '{category}'")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"""
            INSERT INTO products (sku, name, description, category, price_cents, stock, created_at)
            SELECT 'BULK-' || lpad(n::text, 5, '0'),
                   CASE WHEN n <= %(searchable)s THEN (%(names)s::text[])[n]
                        ELSE 'Bulk item ' || lpad(n::text, 5, '0') END,
                   'Seeded for the catalog test.',
                   CASE {" ".join(bounds)} ELSE 'stationery' END,
                   100 + (n * 37) %% 9000, 10, now() - make_interval(secs => n)
            FROM generate_series(1, %(count)s) AS n
            """,
            {"count": SEEDED, "searchable": len(SEARCHABLE), "names": list(SEARCHABLE)},
        )
        rows = conn.execute("SELECT category, id::text FROM products").fetchall()
    by_category: dict[str, set[str]] = {}
    for category, product_id in rows:
        by_category.setdefault(category, set()).add(product_id)
    return by_category


def shown_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        '[data-testid="product-card"]', "cards => cards.map(c => c.dataset.productId)"
    )
    return ids


def show_everything(page: Page) -> int:
    """Press "Show more" until the list ends; returns how many pages it took."""
    more = page.get_by_test_id("load-more")
    pages = 1
    while more.is_visible():
        before = page.get_by_test_id("product-card").count()
        more.click()
        expect(page.get_by_test_id("product-card")).not_to_have_count(before)
        pages += 1
        assert pages < 200
    return pages


@pytest.fixture(scope="module")
def big_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPlatform, dict[str, set[str]]]]:
    """A platform of its own (the session's keeps the 13 sample products) with SEEDED more."""
    platform = LocalPlatform(tmp_path_factory.mktemp("big") / "data").start()
    try:
        yield platform, seed_catalog(database_url(platform))
    finally:
        assert platform.stop() == 0, platform.output()


def test_every_category_shows_all_its_products_and_search_finds_them(
    browser: Browser, big_platform: tuple[LocalPlatform, dict[str, set[str]]], artifacts: Path
) -> None:
    platform, by_category = big_platform
    assert sum(len(ids) for ids in by_category.values()) >= SEEDED
    assert max(len(ids) for ids in by_category.values()) > 2000
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = watch(page)
    page.goto(platform.url + "/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    # The dropdown lists every category with its count, from GET /api/categories.
    options = page.get_by_test_id("category-filter").locator("option").all_inner_texts()
    assert options[1:] == [f"{c} ({len(by_category[c])})" for c in sorted(by_category)]
    for category in sorted(by_category):
        page.get_by_label("Category").select_option(category)
        page.get_by_test_id("apply-filters").click()
        expect(page).to_have_url(re.compile(rf"#/\?category={category}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(category)
        pages = show_everything(page)
        ids = shown_ids(page)
        assert len(ids) == len(set(ids)) == len(by_category[category]), category
        assert set(ids) == by_category[category], category
        expect(page.get_by_test_id("product-count")).to_have_text(
            f"Showing {len(ids)} of {len(by_category[category])} products"
        )
        assert pages == -(-len(ids) // 48), category
    page.screenshot(path=str(artifacts / "catalog-1-category-paged.png"))

    # Search as you type: a prefix first, then the whole word; then a word in one category.
    page.goto(platform.url + "/")
    search = page.get_by_label("Search")
    search.press_sequentially("zeph", delay=30)
    expect(page.get_by_test_id("product-card")).to_have_count(len(SEARCHABLE))
    expect(page).to_have_url(re.compile(r"#/\?q=zeph$"))
    assert page.evaluate("document.activeElement.id") == "search"  # typing never loses focus
    search.press_sequentially("yr lan", delay=30)
    expect(page.get_by_test_id("product-name")).to_have_text(sorted(SEARCHABLE[:2]))
    page.screenshot(path=str(artifacts / "catalog-2-search.png"))
    search.fill("bulk")
    page.get_by_label("Category").select_option("pets")
    page.get_by_label("Sort by").select_option("price_desc")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “bulk” in pets")
    show_everything(page)
    prices = [int(re.sub(r"\D", "", p)) for p in page.get_by_test_id("product-price").all_inner_texts()]
    assert len(prices) == len(by_category["pets"]) and prices == sorted(prices, reverse=True)
    assert problems == []
    context.close()


# ------------------------------------------------------------------ defects (the session's platform)


def first_products(platform: LocalPlatform, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api(platform, "GET", "/api/products", params={"limit": 100}).json()["items"]
    return [p for p in items if p["stock"] >= 3][:count]


def fill_cart(page: Page, platform: LocalPlatform, products: list[dict[str, Any]]) -> None:
    for product in products:
        page.goto(f"{platform.url}/#/product/{product['id']}")
        expect(page.get_by_test_id("product-title")).to_have_text(product["name"])
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_test_id("status")).to_have_text(f"{product['name']} added to your cart.")
    page.goto(platform.url + "/#/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(len(products))


def active(page: Page, attribute: str = "data-testid") -> str | None:
    value: str | None = page.evaluate(f"document.activeElement && document.activeElement.getAttribute('{attribute}')")
    return value


def test_skip_link_moves_focus_to_the_content_without_routing(browser: Browser, local_platform: LocalPlatform) -> None:
    page = browser.new_page()
    problems = watch(page)
    page.goto(local_platform.url + "/#/cart")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    # The router put focus on the heading; the skip link is the first stop from the top of the page.
    page.locator(".skip-link").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("location.hash") == "#/cart"
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    # The next Tab goes on inside the content, not back to the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    # Arriving at /#main shows the shop, with focus on the content.
    page.goto(local_platform.url + "/#main")
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    assert page.evaluate("document.activeElement.id") == "main"
    assert problems == []
    page.close()


def test_cart_fits_a_375px_screen(browser: Browser, local_platform: LocalPlatform, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch(page)
    fill_cart(page, local_platform, first_products(local_platform, 2))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for locator in (
        page.get_by_test_id("remove-item"),
        page.get_by_test_id("cart-line-total"),
        page.get_by_test_id("cart-total"),
        page.get_by_test_id("update-quantity"),
        page.get_by_test_id("checkout-submit"),
    ):
        for element in locator.all():
            element.scroll_into_view_if_needed()
            box = element.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (locator, box)
    # The visually hidden column header stays inside the table's box.
    inside = page.evaluate(
        """() => {
          const box = document.querySelector('.table-scroll').getBoundingClientRect();
          const hidden = [...document.querySelectorAll('.table-scroll .visually-hidden')];
          return hidden.length > 0 && hidden.every(el => {
            const r = el.getBoundingClientRect();
            return r.left >= box.left && r.right <= box.right;
          });
        }"""
    )
    assert inside
    page.screenshot(path=str(artifacts / "defects-cart-375px.png"), full_page=True)
    assert problems == []
    context.close()


def test_focus_stays_on_a_control_after_add_update_and_remove(browser: Browser, local_platform: LocalPlatform) -> None:
    page = browser.new_page()
    problems = watch(page)
    first, second = first_products(local_platform, 2)
    page.goto(f"{local_platform.url}/#/product/{first['id']}")
    page.get_by_role("button", name="Add to cart").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"{first['name']} added to your cart.")
    assert active(page) == "add-to-cart"
    page.goto(f"{local_platform.url}/#/product/{second['id']}")
    expect(page.get_by_test_id("product-title")).to_have_text(second["name"])
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("2")

    page.goto(local_platform.url + "/#/cart")
    line = page.locator(f'[data-testid="cart-line"][data-product-id="{first["id"]}"]')
    line.get_by_test_id("cart-quantity").fill("2")
    line.get_by_test_id("cart-quantity").press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"Quantity of {first['name']} is now 2.")
    assert active(page) == "cart-quantity"
    assert page.evaluate("document.activeElement.id") == f"qty-{first['id']}"
    line.get_by_test_id("update-quantity").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"Quantity of {first['name']} is now 2.")
    assert active(page) == "cart-quantity"

    line.get_by_test_id("remove-item").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"{first['name']} removed.")
    assert active(page) == "remove-item"
    assert active(page, "aria-label") == f"Remove {second['name']}"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cart-empty")).to_be_visible()
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert problems == []
    page.close()


def test_the_category_dropdown_applies_only_when_submitted(browser: Browser, local_platform: LocalPlatform) -> None:
    page = browser.new_page()
    problems = watch(page)
    page.goto(local_platform.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    before = page.evaluate("location.hash")
    page.get_by_label("Category").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.evaluate("location.hash") == before
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    assert page.evaluate("document.activeElement.id") == "category"
    chosen = page.get_by_label("Category").input_value()
    assert chosen
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert active(page) == "apply-filters"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"#/\?category={chosen}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(chosen)
    assert problems == []
    page.close()


def test_a_rejected_quantity_is_put_back_and_the_message_names_the_item(
    browser: Browser, local_platform: LocalPlatform
) -> None:
    page = browser.new_page()
    problems = watch(page)
    [product] = first_products(local_platform, 1)
    fill_cart(page, local_platform, [product])
    stock = api(local_platform, "GET", f"/api/products/{product['id']}").json()["stock"]
    assert stock < 98
    quantity = page.get_by_test_id("cart-quantity")
    quantity.fill(str(stock + 1))
    page.get_by_test_id("update-quantity").click()
    error = page.get_by_test_id("error-message")
    expect(error).to_have_text(
        f"Not enough stock for {product['name']}: only {stock} left (you asked for {stock + 1})."
    )
    expect(quantity).to_have_value("1")  # what the line really holds
    expect(page.get_by_test_id("cart-line-total")).to_have_text(f"${product['price_cents'] / 100:,.2f}")

    # More than 99 of one item: the field says so, not "the request is not valid".
    quantity.fill("150")
    page.get_by_test_id("update-quantity").click()
    expect(page.get_by_test_id("field-error")).to_have_text("You can buy at most 99 of one item.")
    expect(error).to_have_text("You can buy at most 99 of one item.")
    expect(quantity).to_have_value("1")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    assert "not valid" not in error.inner_text()
    # Fixing it clears the message.
    quantity.fill("2")
    page.get_by_test_id("update-quantity").click()
    expect(page.get_by_test_id("field-error")).to_have_count(0)
    expect(error).to_be_hidden()
    assert problems == []
    page.close()


def test_checkout_shows_field_level_messages_for_an_invalid_email(
    browser: Browser, local_platform: LocalPlatform, artifacts: Path
) -> None:
    page = browser.new_page()
    problems = watch(page)
    fill_cart(page, local_platform, first_products(local_platform, 1))
    page.get_by_label("Email for the confirmation").fill("a@b")
    page.get_by_label("Full name").fill("Ada Shopper")
    page.get_by_label("Address").fill("1 Main Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_test_id("checkout-submit").click()
    email = page.get_by_label("Email for the confirmation")
    note = page.get_by_test_id("field-error")
    expect(note).to_have_text("Enter a valid email address, like name@example.com.")
    expect(email).to_have_attribute("aria-invalid", "true")
    assert email.get_attribute("aria-describedby") == note.get_attribute("id")
    error = page.get_by_test_id("error-message")
    expect(error).to_have_text("Enter a valid email address, like name@example.com.")
    page.screenshot(path=str(artifacts / "defects-checkout-email.png"), full_page=True)
    assert problems == []
    page.close()


def test_checkout_out_of_stock_names_the_item_and_what_is_left(browser: Browser, local_platform: LocalPlatform) -> None:
    page = browser.new_page()
    problems = watch(page)
    [product] = first_products(local_platform, 1)
    fill_cart(page, local_platform, [product])
    quantity = page.get_by_test_id("cart-quantity")
    quantity.fill("3")
    page.get_by_test_id("update-quantity").click()
    expect(page.get_by_test_id("cart-total")).to_have_text(f"${3 * product['price_cents'] / 100:,.2f}")
    # Stock sold elsewhere between filling the cart and checking out.
    with psycopg.connect(database_url(local_platform), autocommit=True) as conn:
        (stock,) = conn.execute("SELECT stock FROM products WHERE id = %s", (product["id"],)).fetchone() or (0,)
        conn.execute("UPDATE products SET stock = 2 WHERE id = %s", (product["id"],))
    try:
        page.get_by_label("Email for the confirmation").fill("stock@example.com")
        page.get_by_label("Full name").fill("Ada Shopper")
        page.get_by_label("Address").fill("1 Main Street")
        page.get_by_label("City").fill("Springfield")
        page.get_by_label("Postal code").fill("12345")
        page.get_by_test_id("checkout-submit").click()
        expect(page.get_by_test_id("error-message")).to_have_text(
            f"Not enough stock for {product['name']}: only 2 left (you asked for 3)."
        )
    finally:
        with psycopg.connect(database_url(local_platform), autocommit=True) as conn:
            conn.execute("UPDATE products SET stock = %s WHERE id = %s", (stock, product["id"]))
    assert problems == []
    page.close()


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches ``selector`` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_checkout(browser: Browser, local_platform: LocalPlatform, artifacts: Path) -> None:
    """Tab, Enter and typing only, from the home page to the paid order, the card included."""
    page = browser.new_page()
    problems = watch(page)
    page.goto(local_platform.url + "/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    [product] = first_products(local_platform, 1)
    tab_to(page, f'[data-product-id="{product["id"]}"] a')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("product-title")).to_have_text(product["name"])
    tab_to(page, '[data-testid="add-to-cart"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text(f"{product['name']} added to your cart.")
    tab_to(page, '[data-testid="cart-link"]')
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    tab_to(page, "#email")
    for text in ("keys@example.com", "Kim Keys", "2 Tab Street", "Entertown", "54321"):
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "ship-country"
    page.keyboard.press("Tab")
    # The card Element's fields come next, in the tab order (localstripe's stand-in: plain inputs
    # that, like Stripe's, move on by themselves once a field is complete).
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "34", "cvc": "123", "postal_code": "12345"}
    typed: list[str] = []
    while (field := active(page, "placeholder")) in card and field not in typed:
        page.keyboard.type(card[field])
        typed.append(field)
        if active(page, "placeholder") == field:
            page.keyboard.press("Tab")
    assert sorted(typed) == sorted(card)
    page.screenshot(path=str(artifacts / "defects-keyboard-checkout.png"), full_page=True)
    assert active(page) == "checkout-submit"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    expect(page.get_by_test_id("order-email")).to_have_text("keys@example.com")
    expect(page.get_by_test_id("order-status")).to_have_text("paid", timeout=30_000)
    assert problems == []
    page.close()
