// The shopper's cart: its id lives in localStorage; the cart itself in the API.
import { api, CART_KEY } from "./core.js";

const cartCount = document.querySelector('[data-testid="cart-count"]');

export async function currentCart(create) {
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

export function updateCount(cart) {
  const n = cart ? cart.items.reduce((sum, line) => sum + line.quantity, 0) : 0;
  cartCount.textContent = String(n);
}

export async function setQuantity(productId, quantity) {
  const cart = await currentCart(true);
  const path = "/carts/" + encodeURIComponent(cart.cart_id) + "/items/" + encodeURIComponent(productId);
  const updated = quantity > 0 ? await api("PUT", path, { quantity }) : await api("DELETE", path);
  updateCount(updated);
  return updated;
}

