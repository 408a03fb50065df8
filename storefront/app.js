// The storefront: plain JavaScript, no build step. Talks to the API with
// relative /api/... URLs, so the same files work locally (make dev) and
// behind CloudFront. Views are chosen by the URL hash:
//   #/                      products (optionally #/?category=books)
//   #/product/<id>          one product
//   #/cart                  the cart and the checkout form
//   #/order/<id>            an order confirmation
"use strict";

(function () {
  const CART_KEY = "shop.cartId";
  const ORDERS_KEY = "shop.orderTokens";
  const CHECKOUT_KEY = "shop.checkoutKey";
  const view = document.getElementById("view");
  const statusBox = document.querySelector('[data-testid="status"]');
  const errorBox = document.querySelector('[data-testid="error-message"]');
  const cartCount = document.querySelector('[data-testid="cart-count"]');
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  // ------------------------------------------------------------ helpers

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, headers) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch("/api" + path, init);
    } catch (e) {
      throw new ApiError(0, "network_error", "The shop cannot be reached. Check your connection and try again.");
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || "http_" + response.status, err.message || "Something went wrong (" + response.status + ").");
    }
    return data;
  }

  // Builds an element: h("p", {class: "x", "data-testid": "y"}, "text", child...)
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const price = (cents) => money.format(cents / 100);

  function show(...nodes) {
    view.replaceChildren(...nodes);
  }

  function say(message) {
    statusBox.textContent = message;
  }

  function fail(error) {
    errorBox.textContent = error && error.message ? error.message : String(error);
    errorBox.hidden = false;
  }

  function clearMessages() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    statusBox.textContent = "";
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function orderTokens() {
    try {
      return JSON.parse(localStorage.getItem(ORDERS_KEY) || "{}");
    } catch (e) {
      return {};
    }
  }

  function focusHeading() {
    const heading = view.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  }

  // ------------------------------------------------------------ cart state

  async function currentCart(create) {
    const id = localStorage.getItem(CART_KEY);
    if (id) {
      try {
        return await api("GET", "/carts/" + encodeURIComponent(id));
      } catch (e) {
        if (e.status !== 404) throw e;
        localStorage.removeItem(CART_KEY); // expired or unknown: start a new one
      }
    }
    if (!create) return null;
    const cart = await api("POST", "/carts");
    localStorage.setItem(CART_KEY, cart.cart_id);
    return cart;
  }

  function updateCount(cart) {
    const n = cart ? cart.items.reduce((sum, line) => sum + line.quantity, 0) : 0;
    cartCount.textContent = String(n);
  }

  async function setQuantity(productId, quantity) {
    const cart = await currentCart(true);
    const path = "/carts/" + encodeURIComponent(cart.cart_id) + "/items/" + encodeURIComponent(productId);
    const updated = quantity > 0 ? await api("PUT", path, { quantity }) : await api("DELETE", path);
    updateCount(updated);
    return updated;
  }

  // ------------------------------------------------------------ views

  function productImage(product, size) {
    if (product.image_url) {
      return h("img", { class: "product-image " + size, src: product.image_url, alt: product.name, loading: "lazy" });
    }
    const initials = product.name
      .split(/\s+/)
      .slice(0, 2)
      .map((w) => w.charAt(0).toUpperCase())
      .join("");
    return h("div", { class: "product-image placeholder " + size, "aria-hidden": "true" }, initials);
  }

  async function allProducts() {
    // The catalog is small; page through it to learn the categories.
    const items = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {
      const query = "?limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      const data = await api("GET", "/products" + query);
      items.push(...data.items);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  async function renderProducts(params) {
    const category = params.get("category") || "";
    const products = await allProducts();
    const categories = [...new Set(products.map((p) => p.category))].sort();
    const shown = category ? products.filter((p) => p.category === category) : products;

    const select = h(
      "select",
      {
        id: "category",
        "data-testid": "category-filter",
        onchange: (e) => {
          location.hash = e.target.value ? "#/?category=" + encodeURIComponent(e.target.value) : "#/";
        },
      },
      h("option", { value: "" }, "All categories"),
      categories.map((c) => h("option", { value: c, selected: c === category }, c))
    );

    const cards = shown.map((p) =>
      h(
        "li",
        { class: "card", "data-testid": "product-card", "data-product-id": p.id },
        h("a", { class: "card-link", href: "#/product/" + encodeURIComponent(p.id) },
          productImage(p, "thumb"),
          h("h2", { class: "card-title", "data-testid": "product-name" }, p.name)),
        h("p", { class: "muted small" }, p.category),
        h("p", { class: "price", "data-testid": "product-price" }, price(p.price_cents)),
        p.stock > 0 ? null : h("p", { class: "tag" }, "Out of stock")
      )
    );

    show(
      h("div", { class: "toolbar" },
        h("h1", {}, category ? category : "All products"),
        h("div", { class: "field inline" }, h("label", { for: "category" }, "Category"), select)),
      shown.length
        ? h("ul", { class: "grid", "data-testid": "product-list" }, cards)
        : h("p", { class: "muted", "data-testid": "product-list-empty" }, "No products here yet.")
    );
  }

  async function renderProduct(id) {
    let product;
    try {
      product = await api("GET", "/products/" + encodeURIComponent(id));
    } catch (e) {
      if (e.status === 404) {
        show(h("h1", {}, "Product not found"), h("p", {}, h("a", { href: "#/" }, "Back to all products")));
        return;
      }
      throw e;
    }
    const quantity = h("input", {
      id: "quantity", type: "number", min: 1, max: Math.max(1, Math.min(99, product.stock)), value: 1,
      inputmode: "numeric", "data-testid": "quantity-input",
    });
    const add = h("button", { type: "submit", class: "button primary", "data-testid": "add-to-cart", disabled: product.stock < 1 },
      product.stock > 0 ? "Add to cart" : "Out of stock");
    const form = h("form", {
      class: "buy",
      onsubmit: async (e) => {
        e.preventDefault();
        clearMessages();
        add.disabled = true;
        try {
          const cart = await currentCart(true);
          const existing = cart.items.find((line) => line.product_id === product.id);
          const wanted = (existing ? existing.quantity : 0) + Number(quantity.value || 1);
          await setQuantity(product.id, wanted);
          say(product.name + " added to your cart.");
        } catch (err) {
          fail(err);
        } finally {
          add.disabled = product.stock < 1;
        }
      },
    },
    h("div", { class: "field inline" }, h("label", { for: "quantity" }, "Quantity"), quantity),
    add);

    show(
      h("p", {}, h("a", { href: "#/", "data-testid": "back-to-products" }, "← All products")),
      h("article", { class: "product", "data-testid": "product-detail", "data-product-id": product.id },
        productImage(product, "large"),
        h("div", { class: "product-info" },
          h("h1", { "data-testid": "product-title" }, product.name),
          h("p", { class: "muted" }, product.category + " · SKU " + product.sku),
          h("p", { class: "price big", "data-testid": "product-detail-price" }, price(product.price_cents)),
          h("p", {}, product.description),
          h("p", { class: "muted small", "data-testid": "product-stock" },
            product.stock > 0 ? product.stock + " in stock" : "Out of stock"),
          form))
    );
  }

  async function renderCart() {
    const cart = await currentCart(false);
    updateCount(cart);
    if (!cart || cart.items.length === 0) {
      show(h("h1", {}, "Your cart"),
        h("p", { "data-testid": "cart-empty" }, "Your cart is empty. ", h("a", { href: "#/" }, "Browse products")));
      return;
    }

    const lines = cart.items.map((line) => {
      const qty = h("input", {
        type: "number", min: 1, max: 99, value: line.quantity, id: "qty-" + line.product_id,
        "data-testid": "cart-quantity", "aria-label": "Quantity of " + line.name,
      });
      return h("tr", { "data-testid": "cart-line", "data-product-id": line.product_id },
        h("th", { scope: "row" }, h("a", { href: "#/product/" + encodeURIComponent(line.product_id) }, line.name)),
        h("td", {}, price(line.unit_price_cents)),
        h("td", {},
          h("form", {
            class: "qty-form",
            onsubmit: async (e) => {
              e.preventDefault();
              clearMessages();
              try {
                await setQuantity(line.product_id, Number(qty.value));
                await renderCart();
              } catch (err) {
                fail(err);
              }
            },
          }, qty, h("button", { type: "submit", class: "button small" }, "Update"))),
        h("td", { class: "num", "data-testid": "cart-line-total" }, price(line.line_total_cents)),
        h("td", {},
          h("button", {
            type: "button", class: "button link", "data-testid": "remove-item", "aria-label": "Remove " + line.name,
            onclick: async () => {
              clearMessages();
              try {
                await setQuantity(line.product_id, 0);
                say(line.name + " removed.");
                await renderCart();
              } catch (err) {
                fail(err);
              }
            },
          }, "Remove")));
    });

    const email = h("input", {
      id: "email", type: "email", required: true, autocomplete: "email", "data-testid": "checkout-email",
      placeholder: "you@example.com",
    });
    // Shipping: a flat rate per country zone, shown before payment (GET /api/shipping-rates).
    const rates = await api("GET", "/shipping-rates");
    const rateOf = {};
    const country = h("select", { id: "ship-country", required: true, autocomplete: "country", "data-testid": "ship-country" });
    rates.zones.forEach((zone) => zone.countries.forEach((code) => {
      rateOf[code] = zone.rate_cents;
      country.append(h("option", { value: code }, code + " — " + zone.name));
    }));
    country.value = "US";
    const shippingCell = h("span", { "data-testid": "shipping-total" }, price(rateOf[country.value] || 0));
    const grandCell = h("span", { "data-testid": "grand-total" },
      price(cart.total_cents + (rateOf[country.value] || 0)));
    country.addEventListener("change", () => {
      shippingCell.textContent = price(rateOf[country.value] || 0);
      grandCell.textContent = price(cart.total_cents + (rateOf[country.value] || 0));
    });
    const field = (id, label, attrs) => {
      const input = h("input", Object.assign({ id: id, type: "text", "data-testid": id }, attrs));
      return [input, h("div", { class: "field" }, h("label", { for: id }, label), input)];
    };
    const [shipName, shipNameField] = field("ship-name", "Full name", { required: true, autocomplete: "name", maxlength: 200 });
    const [shipLine1, shipLine1Field] = field("ship-line1", "Address", { required: true, autocomplete: "address-line1", maxlength: 200 });
    const [shipCity, shipCityField] = field("ship-city", "City", { required: true, autocomplete: "address-level2", maxlength: 100 });
    const [shipPostal, shipPostalField] = field("ship-postal", "Postal code", { required: true, autocomplete: "postal-code", maxlength: 16 });
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "checkout-submit" }, "Place order");
    const checkout = h("form", {
      class: "checkout", "aria-labelledby": "checkout-heading",
      onsubmit: async (e) => {
        e.preventDefault();
        clearMessages();
        submit.disabled = true;
        // One key per checkout attempt, reused if the request is retried.
        let key = sessionStorage.getItem(CHECKOUT_KEY);
        if (!key) {
          key = newKey();
          sessionStorage.setItem(CHECKOUT_KEY, key);
        }
        try {
          const order = await api("POST", "/checkout", {
            cart_id: cart.cart_id,
            email: email.value.trim(),
            shipping_address: {
              name: shipName.value.trim(), line1: shipLine1.value.trim(), city: shipCity.value.trim(),
              postal_code: shipPostal.value.trim(), country: country.value,
            },
          }, { "Idempotency-Key": key });
          const tokens = orderTokens();
          tokens[order.order_id] = order.order_token;
          localStorage.setItem(ORDERS_KEY, JSON.stringify(tokens));
          localStorage.removeItem(CART_KEY);
          sessionStorage.removeItem(CHECKOUT_KEY);
          updateCount(null);
          location.hash = "#/order/" + encodeURIComponent(order.order_id);
        } catch (err) {
          if (err.status >= 400 && err.status < 500) sessionStorage.removeItem(CHECKOUT_KEY);
          fail(err);
          submit.disabled = false;
        }
      },
    },
    h("h2", { id: "checkout-heading" }, "Check out"),
    h("div", { class: "field" }, h("label", { for: "email" }, "Email for the confirmation"), email),
    shipNameField, shipLine1Field, shipCityField, shipPostalField,
    h("div", { class: "field" }, h("label", { for: "ship-country" }, "Country"), country),
    h("p", { class: "muted small" }, "Shipping ", shippingCell, " · total ", grandCell, " (no tax is charged)"),
    submit);

    show(
      h("h1", {}, "Your cart"),
      h("div", { class: "table-scroll" },
        h("table", { class: "cart", "data-testid": "cart" },
          h("caption", { class: "visually-hidden" }, "Items in your cart"),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Price"),
            h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", {}, lines),
          h("tfoot", {}, h("tr", {},
            h("th", { scope: "row", colspan: 3 }, "Total"),
            h("td", { class: "num", "data-testid": "cart-total" }, price(cart.total_cents)),
            h("td", {}))))),
      checkout
    );
  }

  async function renderOrder(id) {
    const token = orderTokens()[id];
    let order = null;
    if (token) {
      try {
        order = await api("GET", "/orders/" + encodeURIComponent(id), undefined, { "X-Order-Token": token });
      } catch (e) {
        if (e.status !== 404) throw e;
      }
    }
    if (!order) {
      show(h("h1", {}, "Order not found"),
        h("p", { "data-testid": "order-not-found" }, "This order cannot be shown in this browser."));
      return;
    }
    const placed = new Date(order.created_at);
    show(
      h("section", { class: "confirmation", "data-testid": "order-confirmation", "data-order-id": order.order_id },
        h("h1", {}, "Thank you! Your order is ", h("span", { "data-testid": "order-status" }, order.status)),
        h("p", {}, "Order ", h("strong", { "data-testid": "order-id" }, order.order_id),
          " · confirmation to ", h("span", { "data-testid": "order-email" }, order.email)),
        h("p", { class: "muted small" }, isNaN(placed) ? order.created_at : placed.toLocaleString()),
        h("ul", { class: "order-lines" },
          order.items.map((line) =>
            h("li", { "data-testid": "order-line" },
              h("span", {}, line.quantity + " × " + line.name),
              h("span", { class: "num" }, price(line.line_total_cents))))),
        h("p", {}, "Shipping ", h("span", { "data-testid": "order-shipping" }, price(order.shipping_cents || 0))),
        h("p", { class: "price big" }, "Total ", h("span", { "data-testid": "order-total" }, price(order.total_cents))),
        h("p", {}, h("a", { class: "button", href: "#/" }, "Continue shopping")))
    );
  }

  // ------------------------------------------------------------ router

  async function route() {
    clearMessages();
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    view.setAttribute("aria-busy", "true");
    try {
      if (parts.length === 0) await renderProducts(params);
      else if (parts[0] === "product" && parts[1]) await renderProduct(parts[1]);
      else if (parts[0] === "cart") await renderCart();
      else if (parts[0] === "order" && parts[1]) await renderOrder(parts[1]);
      else show(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
      focusHeading();
    } catch (err) {
      show(h("h1", {}, "Something went wrong"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
      fail(err);
    } finally {
      view.removeAttribute("aria-busy");
      document.body.dataset.ready = "true";
    }
  }

  window.addEventListener("hashchange", route);
  currentCart(false).then(updateCount, () => updateCount(null));
  route();
})();
