// The storefront: plain JavaScript modules, no build step. Talks to the API with relative /api/...
// URLs, so the same files work locally (make dev) and behind CloudFront. Views are chosen by the
// URL hash, through the table below:
//   #/                      products (optionally #/?q=mug&category=books&sort=price)
//   #/product/<id>          one product
//   #/cart                  the cart and the checkout form
//   #/order/<id>            an order confirmation
//   #/account[/sign-up]     sign in or up, my orders, sign out (account.js)
import { clearMessages, fail, focusHeading, h, show, view } from "./core.js";
import { currentCart, updateCount } from "./cart-state.js";
import { renderProduct, renderProducts } from "./catalog.js";
import { renderCart } from "./cart.js";
import { renderOrder } from "./order.js";
import { refreshAccountLink, renderAccount } from "./account.js";

// First path segment -> view. A view gets the remaining segments and the query parameters.
const VIEWS = {
  "": (rest, params) => renderProducts(params),
  product: (rest) => (rest[0] ? renderProduct(rest[0]) : null),
  cart: () => renderCart(),
  order: (rest) => (rest[0] ? renderOrder(rest[0]) : null),
  account: (rest) => renderAccount(rest),
};

function notFound() {
  show(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
}

// "Skip to content" (#main) is an in-page link, not a route: it moves focus to the content and
// leaves the URL (and the view) alone. A URL that arrives with such a fragment shows the shop.
function skipTo(event) {
  const target = document.getElementById(event.currentTarget.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  target.focus();
}
document.querySelectorAll(".skip-link").forEach((link) => link.addEventListener("click", skipTo));

async function route() {
  clearMessages();
  let hash = location.hash.replace(/^#/, "") || "/";
  let inPage = null;
  if (!hash.startsWith("/") && /^[A-Za-z][\w-]*$/.test(hash) && document.getElementById(hash)) {
    inPage = document.getElementById(hash);
    history.replaceState(null, "", "#/");
    hash = "/";
  }
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  view.setAttribute("aria-busy", "true");
  try {
    const name = parts[0] || "";
    const render = Object.hasOwn(VIEWS, name) ? VIEWS[name] : null;
    const shown = render ? await render(parts.slice(1), params) : null;
    if (!render || shown === null) notFound();
    if (inPage) inPage.focus();
    else focusHeading();
  } catch (err) {
    show(h("h1", {}, "Something went wrong"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
    fail(err);
  } finally {
    view.removeAttribute("aria-busy");
    document.body.dataset.ready = "true";
  }
}

window.addEventListener("hashchange", route);
currentCart(false).then(updateCount, () => updateCount(null));
refreshAccountLink();
route();
