// The cart view: its lines with quantity and remove controls, and the checkout form below them.
import { clearMessages, fail, h, price, say, show } from "./core.js";
import { currentCart, setQuantity, updateCount } from "./cart-state.js";
import { checkoutForm } from "./checkout.js";

export async function renderCart() {
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


  const checkout = await checkoutForm(cart);

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
