// Shared helpers of the storefront's views: the API client, the element builder, messages.
export const CART_KEY = "shop.cartId";
export const ORDERS_KEY = "shop.orderTokens";
export const CHECKOUT_KEY = "shop.checkoutKey";
export const view = document.getElementById("view");
const statusBox = document.querySelector('[data-testid="status"]');
const errorBox = document.querySelector('[data-testid="error-message"]');
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
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
    throw new ApiError(response.status, err.code || "http_" + response.status, err.message || "Something went wrong (" + response.status + ").");
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

export function fail(error) {
  errorBox.textContent = error && error.message ? error.message : String(error);
  errorBox.hidden = false;
}

export function clearMessages() {
  errorBox.hidden = true;
  errorBox.textContent = "";
  statusBox.textContent = "";
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
