// The back office: a hash router over sign-in, orders (list, filters, detail, fulfil, refund, cancel)
// and products (list, create, edit, stock, archive, image). Staff see orders and may fulfil; the
// rest needs the admin group (the API enforces it either way).
import { api, ApiError, uploadImage } from "./api.js";
import * as session from "./session.js";

const view = document.getElementById("view");
const statusBox = document.querySelector('[data-testid="status"]');
const errorBox = document.querySelector('[data-testid="error-message"]');
const nav = document.querySelector('[data-testid="admin-nav"]');
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const price = (cents) => money.format(cents / 100);
const STATUSES = ["pending_payment", "paid", "fulfilled", "cancelled", "refunded", "partially_refunded"];

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

function say(message) {
  errorBox.hidden = true;
  statusBox.textContent = message || "";
}

function fail(error) {
  statusBox.textContent = "";
  errorBox.textContent = error instanceof ApiError || error instanceof session.SignInError ? error.message : "Something went wrong.";
  errorBox.hidden = false;
  if (error instanceof ApiError && error.status === 401) {
    session.signOut();
    route();
  }
}

const isAdmin = () => session.groups().includes("admin");
const isStaff = () => isAdmin() || session.groups().includes("staff");

function show(title, ...content) {
  const heading = h("h1", { tabindex: "-1" }, title);
  view.replaceChildren(heading, ...content);
  heading.focus();
}

function field(label, input) {
  return h("label", {}, label, input);
}

// ------------------------------------------------------------------ sign-in

function signInView() {
  nav.hidden = true;
  const emailInput = h("input", { type: "email", name: "email", autocomplete: "username", required: true, "data-testid": "signin-email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, "data-testid": "signin-password" });
  const form = h(
    "form",
    { class: "panel sign-in", "data-testid": "signin-form" },
    field("E-mail", emailInput),
    field("Password", password),
    h("p", {}, h("button", { type: "submit", class: "button", "data-testid": "signin-submit" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("Signing in…");
    try {
      const outcome = await session.signIn(emailInput.value.trim(), password.value);
      password.value = "";
      if (outcome === "new_password") {
        say("");
        newPasswordView();
        return;
      }
      if (!isStaff()) {
        session.signOut();
        throw new session.SignInError("This account is not in the admin or staff group.");
      }
      say("");
      route();
    } catch (error) {
      fail(error);
    }
  });
  show("Sign in", form);
}

function newPasswordView() {
  const password = h("input", { type: "password", name: "new-password", autocomplete: "new-password", required: true, minlength: "12", "data-testid": "new-password" });
  const form = h("form", { class: "panel sign-in", "data-testid": "new-password-form" },
    h("p", {}, "Your account has a temporary password. Choose your own to continue."),
    field("New password", password),
    h("p", {}, h("button", { type: "submit", class: "button", "data-testid": "new-password-submit" }, "Set password and sign in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.setNewPassword(password.value);
      password.value = "";
      say("");
      route();
    } catch (error) {
      fail(error);
    }
  });
  show("Choose a password", form);
}

// ------------------------------------------------------------------ orders

function statusChip(status) {
  return h("span", { class: "status-chip", "data-testid": "order-status" }, status.replace("_", " "));
}

function dateParam(value, endOfDay) {
  if (!value) return null;
  const day = new Date(value + "T00:00:00Z");
  if (endOfDay) day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString();
}

async function ordersView(params) {
  const status = h("select", { name: "status", "data-testid": "filter-status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s }, s.replace("_", " "))));
  const from = h("input", { type: "date", name: "from", "data-testid": "filter-from" });
  const to = h("input", { type: "date", name: "to", "data-testid": "filter-to" });
  const q = h("input", { type: "search", name: "q", placeholder: "e-mail or order id", "data-testid": "filter-q" });
  status.value = params.get("status") || "";
  from.value = params.get("from") || "";
  to.value = params.get("to") || "";
  q.value = params.get("q") || "";
  const form = h("form", { class: "filters", role: "search", "data-testid": "order-filters" }, field("Status", status), field("From (UTC)", from), field("To (UTC)", to), field("Search", q), h("button", { type: "submit", class: "button" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, input] of [["status", status], ["from", from], ["to", to], ["q", q]]) if (input.value.trim()) next.set(key, input.value.trim());
    location.hash = "#/orders" + (next.toString() ? "?" + next : "");
  });
  const body = h("tbody", { "data-testid": "order-rows" });
  const more = h("button", { type: "button", class: "button", hidden: true, "data-testid": "orders-more" }, "Load more");
  const table = h("div", { class: "table-scroll" }, h("table", { class: "admin" }, h("thead", {}, h("tr", {}, ["Order", "Placed", "Customer", "Status", "Total"].map((t) => h("th", { scope: "col" }, t)))), body));
  show("Orders", form, table, h("p", {}, more));

  const query = new URLSearchParams({ limit: "25" });
  if (params.get("status")) query.set("status", params.get("status"));
  if (params.get("from")) query.set("created_from", dateParam(params.get("from"), false));
  if (params.get("to")) query.set("created_to", dateParam(params.get("to"), true));
  if (params.get("q")) query.set("q", params.get("q"));
  const load = async () => {
    try {
      const page = await api("GET", "/admin/orders?" + query);
      for (const order of page.items) {
        body.append(
          h("tr", { "data-testid": "order-row", "data-order-id": order.order_id },
            h("td", {}, h("a", { href: "#/orders/" + order.order_id }, order.order_id.slice(0, 8))),
            h("td", {}, new Date(order.created_at).toLocaleString()),
            h("td", {}, order.email),
            h("td", {}, statusChip(order.status)),
            h("td", { class: "num" }, price(order.total_cents))),
        );
      }
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No orders match.")));
      more.hidden = !page.next_cursor;
      if (page.next_cursor) query.set("cursor", page.next_cursor);
    } catch (error) {
      fail(error);
    }
  };
  more.addEventListener("click", load);
  await load();
}

function fulfilForm(order) {
  const carrier = h("input", { name: "carrier", required: true, maxlength: "64", "data-testid": "fulfil-carrier" });
  const tracking = h("input", { name: "tracking", required: true, maxlength: "128", "data-testid": "fulfil-tracking" });
  const form = h("form", { class: "panel", "data-testid": "fulfil-form" }, h("h2", {}, "Fulfil"), h("div", { class: "form-grid" }, field("Carrier", carrier), field("Tracking reference", tracking)), h("button", { type: "submit", class: "button", "data-testid": "fulfil-submit" }, "Mark shipped"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/admin/orders/" + order.order_id + "/fulfilment", { carrier: carrier.value.trim(), tracking_reference: tracking.value.trim() });
      say("Order marked shipped.");
      orderView(order.order_id);
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

function refundForm(order) {
  const left = order.total_cents - order.refunded_cents;
  const amount = h("input", { type: "number", name: "amount", min: "0.01", step: "0.01", max: (left / 100).toFixed(2), placeholder: (left / 100).toFixed(2), "data-testid": "refund-amount" });
  // One key per refund the form sends: a retry of the same click refunds nothing twice.
  let key = crypto.randomUUID();
  const form = h("form", { class: "panel", "data-testid": "refund-form" }, h("h2", {}, "Refund"), h("p", { class: "muted small" }, "Leave the amount empty to refund the rest (" + price(left) + ")."), h("div", { class: "form-grid" }, field("Amount (USD)", amount)), h("button", { type: "submit", class: "button", "data-testid": "refund-submit" }, "Refund"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = amount.value ? { amount_cents: Math.round(Number(amount.value) * 100) } : {};
    if (!confirm("Refund " + (amount.value ? price(body.amount_cents) : price(left)) + " to the customer?")) return;
    try {
      await api("POST", "/admin/orders/" + order.order_id + "/refunds", body, { "Idempotency-Key": key });
      key = crypto.randomUUID();
      say("Refund sent.");
      orderView(order.order_id);
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

function cancelButton(order) {
  const key = crypto.randomUUID();
  return h("button", {
    type: "button",
    class: "button button-danger",
    "data-testid": "cancel-order",
    onclick: async () => {
      if (!confirm(order.status === "paid" ? "Cancel and refund the whole order?" : "Cancel this order?")) return;
      try {
        await api("POST", "/admin/orders/" + order.order_id + "/cancel", undefined, { "Idempotency-Key": key });
        say("Order cancelled.");
        orderView(order.order_id);
      } catch (error) {
        fail(error);
      }
    },
  }, "Cancel order");
}

async function orderView(orderId) {
  let order;
  try {
    order = await api("GET", "/admin/orders/" + encodeURIComponent(orderId));
  } catch (error) {
    show("Order");
    fail(error);
    return;
  }
  const lines = h("table", { class: "admin" }, h("thead", {}, h("tr", {}, ["Item", "Qty", "Price", "Total"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, order.items.map((l) => h("tr", {}, h("td", {}, l.name), h("td", { class: "num" }, l.quantity), h("td", { class: "num" }, price(l.unit_price_cents)), h("td", { class: "num" }, price(l.line_total_cents))))));
  const a = order.shipping_address || {};
  const address = [a.name, a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(" "), a.region, a.country].filter(Boolean).join(", ") || "—";
  const facts = h("dl", { class: "panel" },
    h("dt", {}, "Status"), h("dd", {}, statusChip(order.status)),
    h("dt", {}, "Customer"), h("dd", { "data-testid": "order-email" }, order.email),
    h("dt", {}, "Ship to"), h("dd", {}, address),
    h("dt", {}, "Total"), h("dd", { "data-testid": "order-total" }, price(order.total_cents) + (order.refunded_cents ? " (refunded " + price(order.refunded_cents) + ")" : "")),
    order.carrier ? [h("dt", {}, "Shipment"), h("dd", { "data-testid": "order-shipment" }, order.carrier + " " + order.tracking_reference)] : null);
  const history = h("ol", { "data-testid": "order-history" }, order.history.map((e) => h("li", {}, new Date(e.at).toLocaleString() + ": " + (e.from_status || "new") + " → " + e.to_status + " (" + e.cause + ")")));
  const actions = [];
  if (order.status === "paid") actions.push(fulfilForm(order));
  if (isAdmin() && order.status === "paid") actions.push(refundForm(order));
  if (isAdmin() && (order.status === "paid" || order.status === "pending_payment")) actions.push(h("p", {}, cancelButton(order)));
  show("Order " + order.order_id.slice(0, 8), h("p", {}, h("a", { href: "#/orders" }, "← All orders")), facts, h("div", { class: "table-scroll" }, lines), h("h2", {}, "History"), history, ...actions);
}

// ------------------------------------------------------------------ products

function productForm(product, onSaved) {
  const inputs = {
    sku: h("input", { name: "sku", required: true, pattern: "[A-Za-z0-9._\\-]+", maxlength: "64", "data-testid": "product-sku" }),
    name: h("input", { name: "name", required: true, maxlength: "200", "data-testid": "product-name" }),
    category: h("input", { name: "category", required: true, pattern: "[a-z0-9\\-]+", maxlength: "64", "data-testid": "product-category" }),
    price: h("input", { type: "number", name: "price", required: true, min: "0", step: "0.01", "data-testid": "product-price" }),
    stock: h("input", { type: "number", name: "stock", required: true, min: "0", step: "1", "data-testid": "product-stock" }),
    description: h("textarea", { name: "description", rows: "3", maxlength: "4000", "data-testid": "product-description" }),
  };
  if (product) {
    inputs.sku.value = product.sku;
    inputs.sku.disabled = true;
    inputs.name.value = product.name;
    inputs.category.value = product.category;
    inputs.price.value = (product.price_cents / 100).toFixed(2);
    inputs.stock.value = String(product.stock);
    inputs.description.value = product.description;
  }
  const image = h("input", { type: "file", name: "image", accept: "image/png,image/jpeg,image/webp", "data-testid": "product-image" });
  const form = h("form", { class: "panel", "data-testid": product ? "product-edit-form" : "product-create-form" },
    h("h2", {}, product ? "Edit " + product.name : "New product"),
    h("div", { class: "form-grid" }, field("SKU", inputs.sku), field("Name", inputs.name), field("Category", inputs.category), field("Price (USD)", inputs.price), field("Stock", inputs.stock), field("Image (PNG, JPEG or WebP, up to 5 MB)", image)),
    field("Description", inputs.description),
    h("p", { class: "actions" }, h("button", { type: "submit", class: "button", "data-testid": "product-save" }, product ? "Save" : "Create")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = {
      name: inputs.name.value.trim(),
      category: inputs.category.value.trim(),
      price_cents: Math.round(Number(inputs.price.value) * 100),
      description: inputs.description.value,
    };
    const stock = Number.parseInt(inputs.stock.value, 10);
    try {
      let saved;
      if (product) {
        saved = await api("PUT", "/admin/products/" + product.id, fields);
        if (stock !== product.stock) saved = await api("PUT", "/admin/products/" + product.id + "/stock", { stock });
      } else {
        saved = await api("POST", "/admin/products", Object.assign({ sku: inputs.sku.value.trim(), stock }, fields));
      }
      if (image.files.length) {
        say("Uploading the image…");
        saved = await uploadImage(saved.id, image.files[0]);
      }
      say(product ? "Product saved." : "Product created.");
      onSaved(saved);
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

function productRow(product, editor) {
  const archive = h("button", {
    type: "button",
    class: "link-button",
    "data-testid": "product-archive",
    onclick: async () => {
      if (!confirm("Archive " + product.name + "? It disappears from the shop and is no longer sold.")) return;
      try {
        await api("POST", "/admin/products/" + product.id + "/archive");
        say(product.name + " archived.");
        productsView();
      } catch (error) {
        fail(error);
      }
    },
  }, "Archive");
  const edit = h("button", { type: "button", class: "link-button", "data-testid": "product-edit", onclick: () => {
    editor.replaceChildren(productForm(product, () => productsView()));
    editor.querySelector("input:not([disabled])").focus();
  } }, "Edit");
  return h("tr", { "data-testid": "product-row", "data-sku": product.sku, class: product.archived ? "archived" : null },
    h("td", {}, product.image_url ? h("img", { src: product.image_url, alt: "", class: "thumb", "data-testid": "product-thumb" }) : ""),
    h("td", {}, product.name, product.archived ? h("span", { class: "muted small" }, " (archived)") : ""),
    h("td", {}, product.sku),
    h("td", { class: "num" }, price(product.price_cents)),
    h("td", { class: "num", "data-testid": "product-stock-cell" }, product.stock),
    h("td", {}, product.archived ? "" : h("span", { class: "actions" }, edit, archive)));
}

async function productsView() {
  if (!isAdmin()) {
    show("Products", h("p", {}, "Only admins change the catalog."));
    return;
  }
  const editor = h("div", { "data-testid": "product-editor" });
  const body = h("tbody", { "data-testid": "product-rows" });
  const more = h("button", { type: "button", class: "button", hidden: true, "data-testid": "products-more" }, "Load more");
  const create = h("button", { type: "button", class: "button", "data-testid": "product-new", onclick: () => {
    editor.replaceChildren(productForm(null, () => productsView()));
    editor.querySelector("input").focus();
  } }, "New product");
  show("Products", h("p", {}, create), editor, h("div", { class: "table-scroll" }, h("table", { class: "admin" }, h("thead", {}, h("tr", {}, ["", "Name", "SKU", "Price", "Stock", ""].map((t) => h("th", { scope: "col" }, t)))), body)), h("p", {}, more));
  const query = new URLSearchParams({ limit: "50" });
  const load = async () => {
    try {
      const page = await api("GET", "/admin/products?" + query);
      for (const product of page.items) body.append(productRow(product, editor));
      more.hidden = !page.next_cursor;
      if (page.next_cursor) query.set("cursor", page.next_cursor);
    } catch (error) {
      fail(error);
    }
  };
  more.addEventListener("click", load);
  await load();
}

// ------------------------------------------------------------------ router

async function route() {
  errorBox.hidden = true;
  if (!(await session.token().catch(() => null))) {
    signInView();
    return;
  }
  nav.hidden = false;
  document.querySelector('[data-testid="signed-in-as"]').textContent = session.email() + " (" + session.groups().join(", ") + ")";
  for (const item of document.querySelectorAll('[data-role="admin"]')) item.hidden = !isAdmin();
  const [path, search] = (location.hash.slice(1) || "/orders").split("?");
  const params = new URLSearchParams(search || "");
  const orderMatch = path.match(/^\/orders\/([0-9a-f-]{36})$/);
  try {
    if (orderMatch) await orderView(orderMatch[1]);
    else if (path === "/products") await productsView();
    else await ordersView(params);
  } catch (error) {
    fail(error);
  }
}

document.querySelector('[data-testid="sign-out"]').addEventListener("click", () => {
  session.signOut();
  say("Signed out.");
  route();
});
document.querySelector("[data-skip]").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("content").focus();
});
window.addEventListener("hashchange", () => {
  say("");
  route();
});
route();
