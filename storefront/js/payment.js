// Card payments with Stripe.js. The card is typed into Stripe's card Element and confirmed by
// Stripe.js in the browser with the order's PaymentIntent client secret: card data goes to Stripe
// (locally, localstripe), never to our API. The webhook then marks the order paid on the server.
//   storefrontConfig()          GET /api/storefront-config, once per page (Stripe and Cognito settings)
//   cardField()                 a card Element in a labelled field: { element, mounted }
//   confirmCardPayment(secret, mounted, billing)  -> { ok: true } or { ok: false, message }
//   rememberPayment(id, secret) / paymentState(id) / forgetPayment(id) / payOrder(id, mounted, billing):
//     the client secret of an unpaid order and the last attempt's outcome, for this tab only
//     (sessionStorage), so a declined card can be retried on the same PaymentIntent.
import { api, h } from "./core.js";

const SECRETS_KEY = "shop.paymentSecrets";
// PaymentIntent statuses after which the money is on its way (the webhook makes the order paid).
const SETTLING = ["succeeded", "processing", "requires_capture"];
let configPromise = null;
let stripePromise = null;

export function storefrontConfig() {
  if (!configPromise) {
    configPromise = api("GET", "/storefront-config").catch((err) => {
      configPromise = null; // a failed read is retried by the next caller
      throw err;
    });
  }
  return configPromise;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.addEventListener("load", () => resolve());
    script.addEventListener("error", () => {
      script.remove();
      reject(new Error("The payment form could not be loaded. Check your connection and reload the page."));
    });
    document.head.append(script);
  });
}

// Stripe.js, loaded once from the configured URL (Stripe's in AWS, localstripe's locally).
export function stripe() {
  if (!stripePromise) {
    stripePromise = (async () => {
      const config = await storefrontConfig();
      if (!config.stripe.publishable_key) throw new Error("Card payments are not available right now.");
      if (typeof window.Stripe !== "function") await loadScript(config.stripe.js_url);
      return window.Stripe(config.stripe.publishable_key);
    })().catch((err) => {
      stripePromise = null;
      throw err;
    });
  }
  return stripePromise;
}

// A labelled field holding the card Element; `mounted` resolves to the Element (or rejects with a
// message the page shows).
export function cardField() {
  const host = h("div", { id: "card-element", class: "card-element", "data-testid": "card-element" });
  const element = h("div", { class: "field", role: "group", "aria-labelledby": "card-label" },
    h("span", { id: "card-label" }, "Card"), host,
    h("span", { class: "muted small" }, "Card details go straight to our payment provider, Stripe."));
  const mounted = stripe().then((client) => {
    const card = client.elements().create("card");
    card.mount(host);
    return { client, card };
  });
  return { element, mounted };
}

// Confirms the intent with the card; a decline, an incomplete card or a Stripe.js that did not load
// is a message, not an exception.
export async function confirmCardPayment(secret, mounted, billing) {
  let result;
  try {
    const { client, card } = await mounted;
    result = await client.confirmCardPayment(secret, { payment_method: { card, billing_details: billing } });
  } catch (err) {
    return { ok: false, message: (err && err.message) || "The payment could not be completed. Please try again." };
  }
  if (result && result.error) {
    const error = result.error;
    const declined = error.code === "card_declined" || error.type === "card_error";
    const message = declined
      ? "Your card was declined. No money was taken; try another card."
      : (error.message || "The payment could not be completed.") + " Please check the card and try again.";
    return { ok: false, message, code: error.code || error.type || "payment_failed" };
  }
  const status = result && result.paymentIntent ? result.paymentIntent.status : "unknown";
  if (!SETTLING.includes(status)) {
    // E.g. 3-D Secure failed or was abandoned: the intent needs a payment method again.
    return {
      ok: false, code: status,
      message: "The payment was not completed (the card was not authenticated). No money was taken; try again or use another card.",
    };
  }
  return { ok: true, status };
}

// What this tab knows about its unpaid orders: { [orderId]: { secret, confirmed, notice } }.
function states() {
  try {
    return JSON.parse(sessionStorage.getItem(SECRETS_KEY) || "{}");
  } catch (e) {
    return {};
  }
}

function update(orderId, change) {
  const all = states();
  if (change === null) delete all[orderId];
  else all[orderId] = Object.assign(all[orderId] || {}, change);
  sessionStorage.setItem(SECRETS_KEY, JSON.stringify(all));
}

export function rememberPayment(orderId, secret) {
  update(orderId, { secret, confirmed: false, notice: null });
}

export function paymentState(orderId) {
  return states()[orderId] || null;
}

export function forgetPayment(orderId) {
  update(orderId, null);
}

// Pays an unpaid order of this tab with the card; remembers the outcome for the order page
// (confirmed: wait for the webhook; otherwise the notice to show beside the card form).
export async function payOrder(orderId, mounted, billing) {
  const state = paymentState(orderId);
  if (!state || !state.secret) {
    return { ok: false, message: "This order cannot be paid from this browser tab." };
  }
  const result = await confirmCardPayment(state.secret, mounted, billing);
  update(orderId, { confirmed: result.ok, notice: result.ok ? null : result.message });
  return result;
}
