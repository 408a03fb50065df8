// The shopper's cart: its id lives in localStorage; the cart itself in the API.
import { api, CART_KEY } from "./core.js";
import { customer as signedIn } from "./cognito.js";

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
  // Signed in: the customer's own cart (the same on every device); otherwise a new anonymous one.
  const cart = (await signedIn()) ? await api("POST", "/me/cart", {}) : await api("POST", "/carts");
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


// On sign-in: the anonymous cart merges into the customer's (quantities add up, capped by stock),
// and the storefront continues with the customer's cart. Retrying is safe (the API merges once).
export async function mergeOnSignIn() {
  const anonymous = localStorage.getItem(CART_KEY);
  let merged;
  try {
    merged = await api("POST", "/me/cart", anonymous ? { cart_id: anonymous } : {});
  } catch (e) {
    if (e.status !== 404) throw e;
    merged = await api("POST", "/me/cart", {}); // the anonymous cart expired or was checked out
  }
  localStorage.setItem(CART_KEY, merged.cart_id);
  updateCount(merged);
  return merged;
}

// On sign-out: the customer's cart stays theirs; this browser forgets it.
export function forgetCart() {
  localStorage.removeItem(CART_KEY);
  updateCount(null);
}
