// Shared helpers of the storefront's views: the API client, the element builder, messages.
export const CART_KEY = "shop.cartId";
export const ORDERS_KEY = "shop.orderTokens";
export const CHECKOUT_KEY = "shop.checkoutKey";
export const view = document.getElementById("view");
const statusBox = document.querySelector('[data-testid="status"]');
const errorBox = document.querySelector('[data-testid="error-message"]');
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

// Sign-in (cognito.js) plugs in here: the headers every call carries, and what to do about a 401.
let authHeaders = async () => ({});
let reauthenticate = async () => false;
export function setAuth(headers, onUnauthorized) {
  authHeaders = headers;
  reauthenticate = onUnauthorized;
}

export async function api(method, path, body, headers, retried) {
  const auth = await authHeaders();
  const init = { method, headers: Object.assign({ Accept: "application/json" }, auth, headers || {}) };
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
  if (response.status === 401 && auth["X-Id-Token"] && !retried && (await reauthenticate())) {
    return api(method, path, body, headers, true); // the token expired meanwhile: once more, refreshed
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "http_" + response.status,
      err.message || "Something went wrong (" + response.status + ").", err.details);
  }
  return data;
}

// Builds an element: h("p", {class: "x", "data-testid": "y"}, "text", child...)
export function h(tag, attrs, ...children) {
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

export const price = (cents) => money.format(cents / 100);

export function show(...nodes) {
  view.replaceChildren(...nodes);
}

export function say(message) {
  statusBox.textContent = message;
}

// Request fields -> the input a shopper fills (checkout's ids); a view may pass its own (fields).
const FIELD_INPUTS = {
  email: "email",
  "shipping_address.name": "ship-name",
  "shipping_address.line1": "ship-line1",
  "shipping_address.city": "ship-city",
  "shipping_address.postal_code": "ship-postal",
  "shipping_address.country": "ship-country",
};

function labelOf(input) {
  const label = input && input.id ? document.querySelector('label[for="' + input.id + '"]') : null;
  return label ? label.textContent.trim() : "";
}

// What a shopper should do about one validation problem (the API's details.errors entry).
function fieldMessage(field, problem, input) {
  const type = problem.type || "";
  if (field === "email") return "Enter a valid email address, like name@example.com.";
  if (field === "quantity") {
    if (type === "less_than_equal") return "You can buy at most 99 of one item.";
    if (type === "greater_than_equal") return "The quantity must be at least 1.";
    return "Enter a whole number from 1 to 99.";
  }
  const label = labelOf(input) || field.split(".").pop().replace(/_/g, " ");
  if (type === "missing" || type === "string_too_short") return "Enter your " + label.toLowerCase() + ".";
  if (type === "string_too_long") return label + " is too long.";
  return "Check " + label.toLowerCase() + ": " + (problem.message || "it is not valid") + ".";
}

// "Not enough stock": which item, and how many are left (the API sends both in details.items).
function stockMessage(error, names) {
  const items = (error.details && error.details.items) || [];
  if (!items.length) return error.message;
  return items.map((item) => {
    // The caller's names, else the cart line on the page (checkout), else a neutral word.
    const row = document.querySelector('[data-testid="cart-line"][data-product-id="' + CSS.escape(String(item.product_id)) + '"] a');
    const name = (names && names[item.product_id]) || (row && row.textContent.trim()) || "One item";
    if (!item.available) return name + " is out of stock.";
    return "Not enough stock for " + name + ": only " + item.available + " left (you asked for " + item.requested + ").";
  }).join(" ");
}

function markField(input, message) {
  const note = h("p", { class: "field-error", id: input.id + "-error", "data-testid": "field-error" }, message);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", note.id);
  input.insertAdjacentElement("afterend", note);
}

// Shows what went wrong. options.fields maps request fields ("quantity") to inputs, overriding the
// checkout form's; options.names maps product ids to names (for stock errors). Validation problems
// are shown next to their input as well as in the summary. Returns the summary text.
export function fail(error, options) {
  const opts = options || {};
  let summary = error && error.message ? error.message : String(error);
  if (error && error.code === "out_of_stock") {
    summary = stockMessage(error, opts.names);
  } else if (error && error.code === "validation_error" && error.details && error.details.errors) {
    const messages = [];
    for (const problem of error.details.errors) {
      const field = (problem.loc || []).filter((part) => part !== "body").join(".");
      const mapped = (opts.fields || {})[field];
      const id = FIELD_INPUTS[field];
      const input = mapped || (id ? document.getElementById(id) : null);
      const message = fieldMessage(field, problem, input);
      if (input && !input.hasAttribute("aria-invalid")) markField(input, message);
      if (!messages.includes(message)) messages.push(message);
    }
    if (messages.length) summary = messages.join(" ");
  }
  errorBox.textContent = summary;
  errorBox.hidden = false;
  return summary;
}

export function clearMessages() {
  errorBox.hidden = true;
  errorBox.textContent = "";
  statusBox.textContent = "";
  for (const note of document.querySelectorAll(".field-error")) note.remove();
  for (const input of document.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

export function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

export function orderTokens() {
  try {
    return JSON.parse(localStorage.getItem(ORDERS_KEY) || "{}");
  } catch (e) {
    return {};
  }
}

export function focusHeading() {
  const heading = view.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

// ------------------------------------------------------------ cart state
