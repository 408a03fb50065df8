// The cart view: its lines with quantity and remove controls, and the checkout form below them.
// After Update or Remove the view is drawn again from the API's answer, and keyboard focus goes to
// the control the shopper would use next (the same line's quantity; the next line's Remove), never
// to the page itself. A rejected quantity puts the line's current quantity back in its input.
import { clearMessages, fail, h, price, say, show, view } from "./core.js";
import { currentCart, setQuantity, updateCount } from "./cart-state.js";
import { checkoutForm } from "./checkout.js";

function lineSelector(productId, control) {
  return '[data-testid="cart-line"][data-product-id="' + CSS.escape(productId) + '"] [data-testid="' + control + '"]';
}

function focusAfter(target) {
  const el = target && view.querySelector(target);
  if (el) {
    el.focus();
    return;
  }
  const heading = view.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function cartLine(line, cart) {
  const names = Object.fromEntries(cart.items.map((l) => [l.product_id, l.name]));
  const qty = h("input", {
    type: "number", min: 1, max: 99, value: line.quantity, id: "qty-" + line.product_id,
    inputmode: "numeric", "data-testid": "cart-quantity", "aria-label": "Quantity of " + line.name,
  });
  let busy = false;
  const update = async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    clearMessages();
    const wanted = Number(qty.value);
    try {
      await setQuantity(line.product_id, wanted);
      await renderCart(lineSelector(line.product_id, "cart-quantity"));
      say("Quantity of " + line.name + " is now " + wanted + ".");
    } catch (err) {
      qty.value = String(line.quantity); // the line still has the quantity it had
      fail(err, { fields: { quantity: qty }, names });
    } finally {
      busy = false;
    }
  };
  const remove = async () => {
    if (busy) return;
    busy = true;
    clearMessages();
    const index = cart.items.findIndex((l) => l.product_id === line.product_id);
    const neighbour = cart.items[index + 1] || cart.items[index - 1];
    try {
      await setQuantity(line.product_id, 0);
      await renderCart(neighbour ? lineSelector(neighbour.product_id, "remove-item") : null);
      say(line.name + " removed.");
    } catch (err) {
      fail(err, { names });
    } finally {
      busy = false;
    }
  };
  return h("tr", { "data-testid": "cart-line", "data-product-id": line.product_id },
    h("th", { scope: "row", class: "cell-name" },
      h("a", { href: "#/product/" + encodeURIComponent(line.product_id) }, line.name)),
    h("td", { class: "cell-price", "data-label": "Price" }, price(line.unit_price_cents)),
    h("td", { class: "cell-qty" },
      h("form", { class: "qty-form", novalidate: true, onsubmit: update },
        qty, h("button", { type: "submit", class: "button small", "data-testid": "update-quantity" }, "Update"))),
    h("td", { class: "num cell-total", "data-testid": "cart-line-total", "data-label": "Total" }, price(line.line_total_cents)),
    h("td", { class: "cell-remove" },
      h("button", {
        type: "button", class: "button link", "data-testid": "remove-item", "aria-label": "Remove " + line.name,
        onclick: remove,
      }, "Remove")));
}

// focusTarget: a selector for the control to focus once drawn (after Update or Remove).
export async function renderCart(focusTarget) {
  const cart = await currentCart(false);
  updateCount(cart);
  if (!cart || cart.items.length === 0) {
    show(h("h1", {}, "Your cart"),
      h("p", { "data-testid": "cart-empty" }, "Your cart is empty. ", h("a", { href: "#/" }, "Browse products")));
    if (focusTarget !== undefined) focusAfter(null);
    return;
  }

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
        h("tbody", {}, cart.items.map((line) => cartLine(line, cart))),
        h("tfoot", {}, h("tr", { class: "cart-total-row" },
          h("th", { scope: "row", colspan: 3 }, "Total"),
          h("td", { class: "num", "data-testid": "cart-total" }, price(cart.total_cents)),
          h("td", { class: "cell-empty" }))))),
    checkout
  );
  if (focusTarget !== undefined) focusAfter(focusTarget);
}
