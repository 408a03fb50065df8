// The catalog views: the product list (with its category filter) and one product.
import { api, clearMessages, fail, h, price, say, show } from "./core.js";
import { currentCart, setQuantity } from "./cart-state.js";

function productImage(product, size) {
  if (product.image_url) {
    return h("img", { class: "product-image " + size, src: product.image_url, alt: product.name, loading: "lazy" });
  }
  const initials = product.name
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w.charAt(0).toUpperCase())
    .join("");
  return h("div", { class: "product-image placeholder " + size, "aria-hidden": "true" }, initials);
}

async function allProducts() {
  // The catalog is small; page through it to learn the categories.
  const items = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const query = "?limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    const data = await api("GET", "/products" + query);
    items.push(...data.items);
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export async function renderProducts(params) {
  const category = params.get("category") || "";
  const products = await allProducts();
  const categories = [...new Set(products.map((p) => p.category))].sort();
  const shown = category ? products.filter((p) => p.category === category) : products;

  const select = h(
    "select",
    {
      id: "category",
      "data-testid": "category-filter",
      onchange: (e) => {
        location.hash = e.target.value ? "#/?category=" + encodeURIComponent(e.target.value) : "#/";
      },
    },
    h("option", { value: "" }, "All categories"),
    categories.map((c) => h("option", { value: c, selected: c === category }, c))
  );

  const cards = shown.map((p) =>
    h(
      "li",
      { class: "card", "data-testid": "product-card", "data-product-id": p.id },
      h("a", { class: "card-link", href: "#/product/" + encodeURIComponent(p.id) },
        productImage(p, "thumb"),
        h("h2", { class: "card-title", "data-testid": "product-name" }, p.name)),
      h("p", { class: "muted small" }, p.category),
      h("p", { class: "price", "data-testid": "product-price" }, price(p.price_cents)),
      p.stock > 0 ? null : h("p", { class: "tag" }, "Out of stock")
    )
  );

  show(
    h("div", { class: "toolbar" },
      h("h1", {}, category ? category : "All products"),
      h("div", { class: "field inline" }, h("label", { for: "category" }, "Category"), select)),
    shown.length
      ? h("ul", { class: "grid", "data-testid": "product-list" }, cards)
      : h("p", { class: "muted", "data-testid": "product-list-empty" }, "No products here yet.")
  );
}

export async function renderProduct(id) {
  let product;
  try {
    product = await api("GET", "/products/" + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) {
      show(h("h1", {}, "Product not found"), h("p", {}, h("a", { href: "#/" }, "Back to all products")));
      return;
    }
    throw e;
  }
  const quantity = h("input", {
    id: "quantity", type: "number", min: 1, max: Math.max(1, Math.min(99, product.stock)), value: 1,
    inputmode: "numeric", "data-testid": "quantity-input",
  });
  const add = h("button", { type: "submit", class: "button primary", "data-testid": "add-to-cart", disabled: product.stock < 1 },
    product.stock > 0 ? "Add to cart" : "Out of stock");
  const form = h("form", {
    class: "buy",
    onsubmit: async (e) => {
      e.preventDefault();
      clearMessages();
      add.disabled = true;
      try {
        const cart = await currentCart(true);
        const existing = cart.items.find((line) => line.product_id === product.id);
        const wanted = (existing ? existing.quantity : 0) + Number(quantity.value || 1);
        await setQuantity(product.id, wanted);
        say(product.name + " added to your cart.");
      } catch (err) {
        fail(err);
      } finally {
        add.disabled = product.stock < 1;
      }
    },
  },
  h("div", { class: "field inline" }, h("label", { for: "quantity" }, "Quantity"), quantity),
  add);

  show(
    h("p", {}, h("a", { href: "#/", "data-testid": "back-to-products" }, "← All products")),
    h("article", { class: "product", "data-testid": "product-detail", "data-product-id": product.id },
      productImage(product, "large"),
      h("div", { class: "product-info" },
        h("h1", { "data-testid": "product-title" }, product.name),
        h("p", { class: "muted" }, product.category + " · SKU " + product.sku),
        h("p", { class: "price big", "data-testid": "product-detail-price" }, price(product.price_cents)),
        h("p", {}, product.description),
        h("p", { class: "muted small", "data-testid": "product-stock" },
          product.stock > 0 ? product.stock + " in stock" : "Out of stock"),
        form))
  );
}
