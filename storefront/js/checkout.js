// The checkout form: e-mail, shipping address and zone rate, the card (Stripe's card Element), then
// POST /api/checkout with one Idempotency-Key per attempt (reused when the request is retried): the
// order is created pending_payment with its stock reserved, and the card is confirmed in the browser
// with the order's client secret (./payment.js). The order page then follows it to "paid" or, after
// a decline, offers another card on the same order.
import { api, CART_KEY, CHECKOUT_KEY, clearMessages, fail, h, newKey, orderTokens, ORDERS_KEY, price } from "./core.js";
import { updateCount } from "./cart-state.js";
import { cardField, payOrder, rememberPayment } from "./payment.js";
import { lockEmail } from "./account.js";

export async function checkoutForm(cart) {
  const email = h("input", {
    id: "email", type: "email", required: true, autocomplete: "email", "data-testid": "checkout-email",
    placeholder: "you@example.com",
  });
  await lockEmail(email); // signed in: the account's address, fixed
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
  const card = cardField();
  card.mounted.catch(fail);
  const submit = h("button", { type: "submit", class: "button primary", "data-testid": "checkout-submit" },
    "Place order and pay");
  return h("form", {
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
        if (order.client_secret) rememberPayment(order.order_id, order.client_secret);
        // The order holds the stock now; the payment's outcome (paid, or a decline to retry with
        // another card) is shown on the order's page.
        await payOrder(order.order_id, card.mounted, {
          name: shipName.value.trim(), email: email.value.trim(),
          address: { line1: shipLine1.value.trim(), city: shipCity.value.trim(),
            postal_code: shipPostal.value.trim(), country: country.value },
        });
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
  card.element,
  submit);
}
