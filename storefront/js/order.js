// The order confirmation page (read back with the order's token).
import { api, h, orderTokens, price, show } from "./core.js";
import { customer } from "./cognito.js";

export async function renderOrder(id) {
  const token = orderTokens()[id];
  let order = null;
  // Without this browser's order token a signed-in customer still reads their own orders.
  if (token || (await customer())) {
    try {
      order = await api("GET", "/orders/" + encodeURIComponent(id), undefined, token ? { "X-Order-Token": token } : {});
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
