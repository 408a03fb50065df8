// The order page (read back with the order's token). An unpaid order of this tab offers the card
// form (a declined card can be retried on the same order); after the card is confirmed the page
// polls the order until the payment webhook has marked it paid, for at most POLL_LIMIT tries.
import { api, clearMessages, fail, h, orderTokens, price, say, show } from "./core.js";
import { cardField, forgetPayment, payOrder, paymentState } from "./payment.js";
import { customer } from "./cognito.js";

const POLL_INTERVAL_MS = 1000;
const POLL_LIMIT = 30;
const HEADINGS = {
  pending_payment: "Your order is waiting for payment",
  paid: "Thank you! Your order is paid",
  fulfilled: "Your order is on its way",
  cancelled: "This order was cancelled",
  refunded: "This order was refunded",
  partially_refunded: "This order was partly refunded",
};

async function readOrder(id, token) {
  try {
    return await api("GET", "/orders/" + encodeURIComponent(id), undefined, token ? { "X-Order-Token": token } : {});
  } catch (e) {
    if (e.status !== 404) throw e;
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Still showing this order? (the shopper may have navigated away while we waited)
const stillShowing = (id) => location.hash === "#/order/" + encodeURIComponent(id);

export async function renderOrder(id) {
  const token = orderTokens()[id];
  // Without this browser's order token a signed-in customer still reads their own orders.
  const order = token || (await customer()) ? await readOrder(id, token) : null;
  if (!order) {
    show(h("h1", {}, "Order not found"),
      h("p", { "data-testid": "order-not-found" }, "This order cannot be shown in this browser."));
    return;
  }
  showOrder(order, token);
  const state = paymentState(id);
  if (order.status === "pending_payment" && state && state.confirmed) await waitUntilPaid(order, token);
  else if (order.status !== "pending_payment") forgetPayment(id);
}

function showOrder(order, token, extra) {
  const placed = new Date(order.created_at);
  const state = paymentState(order.order_id);
  const payable = order.status === "pending_payment" && state && state.secret && !state.confirmed;
  show(
    h("section", { class: "confirmation", "data-testid": "order-confirmation", "data-order-id": order.order_id,
      "data-status": order.status },
      h("h1", {}, HEADINGS[order.status] || "Your order"),
      h("p", {}, "Status: ", h("strong", { "data-testid": "order-status" }, order.status)),
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
      extra || null,
      payable ? paymentForm(order, token, state) : null,
      order.status === "pending_payment" && !(state && state.confirmed) ? cancelButton(order, token) : null,
      h("p", {}, h("a", { class: "button", href: "#/" }, "Continue shopping")))
  );
  if (payable && state.notice) fail(new Error(state.notice));
}

// The card form for an unpaid order: the same PaymentIntent, another attempt.
function paymentForm(order, token, state) {
  const card = cardField();
  card.mounted.catch(fail);
  const submit = h("button", { type: "submit", class: "button primary", "data-testid": "pay-submit" },
    "Pay " + price(order.total_cents));
  return h("form", {
    class: "checkout", "aria-labelledby": "pay-heading", "data-testid": "payment-form",
    onsubmit: async (e) => {
      e.preventDefault();
      clearMessages();
      submit.disabled = true;
      const address = order.shipping_address || {};
      const result = await payOrder(order.order_id, card.mounted, {
        name: address.name, email: order.email,
        address: { line1: address.line1, city: address.city, postal_code: address.postal_code, country: address.country },
      });
      if (!result.ok) {
        fail(new Error(result.message));
        submit.disabled = false;
        return;
      }
      showOrder(order, token);
      await waitUntilPaid(order, token);
    },
  },
  h("h2", { id: "pay-heading" }, state.notice ? "Try another card" : "Pay for your order"),
  card.element, submit);
}

function cancelButton(order, token) {
  const button = h("button", { type: "button", class: "button link", "data-testid": "cancel-order" }, "Cancel this order");
  button.addEventListener("click", async () => {
    clearMessages();
    button.disabled = true;
    try {
      const cancelled = await api("POST", "/orders/" + encodeURIComponent(order.order_id) + "/cancel", undefined,
        { "X-Order-Token": token });
      forgetPayment(order.order_id);
      showOrder(cancelled, token);
      say("Your order was cancelled. Nothing was charged.");
    } catch (err) {
      fail(err);
      button.disabled = false;
    }
  });
  return h("p", {}, button);
}

// After the card was confirmed: the webhook marks the order paid within seconds. Poll, bounded.
async function waitUntilPaid(order, token) {
  const id = order.order_id;
  showOrder(order, token, h("p", { class: "notice", role: "status", "data-testid": "payment-pending" },
    "Payment received by our payment provider; confirming your order…"));
  for (let attempt = 0; attempt < POLL_LIMIT; attempt++) {
    await sleep(POLL_INTERVAL_MS);
    if (!stillShowing(id)) return;
    let current;
    try {
      current = await readOrder(id, token);
    } catch (err) {
      continue; // a transient failure: the next try may answer
    }
    if (!current) return;
    if (current.status !== "pending_payment") {
      forgetPayment(id);
      showOrder(current, token);
      if (current.status === "paid") say("Payment confirmed. Thank you for your order!");
      else if (current.status === "cancelled") {
        fail(new Error("This order was cancelled before the payment arrived (its reservation had expired);"
          + " the payment is refunded in full automatically."));
      }
      return;
    }
  }
  if (!stillShowing(id)) return;
  const again = h("button", { type: "button", class: "button", "data-testid": "check-again" }, "Check again");
  again.addEventListener("click", () => waitUntilPaid(order, token));
  showOrder(order, token, h("div", { class: "notice", role: "status", "data-testid": "payment-slow" },
    h("p", {}, "Your payment was accepted, but the shop has not confirmed it yet. This can take a few minutes;"
      + " you will get an e-mail when it is confirmed. Nothing more is charged if you check again."),
    again));
}
