// The catalog views: the product list (search, category, sort, pages) and one product.
// The list asks the API for one page at a time (GET /api/products with q, category, sort and the
// previous page's cursor) and the categories with their counts (GET /api/categories); nothing is
// filtered or capped in the browser.
import { api, clearMessages, fail, h, price, say, show } from "./core.js";
import { currentCart, setQuantity } from "./cart-state.js";

const PAGE_SIZE = 48;
const SEARCH_DELAY_MS = 250;
const SORTS = [
  ["name", "Name"],
  ["price", "Price: low to high"],
  ["price_desc", "Price: high to low"],
  ["newest", "Newest"],
];

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

function productCard(p) {
  return h(
    "li",
    { class: "card", "data-testid": "product-card", "data-product-id": p.id },
    h("a", { class: "card-link", href: "#/product/" + encodeURIComponent(p.id) },
      productImage(p, "thumb"),
      h("h2", { class: "card-title", "data-testid": "product-name" }, p.name)),
    h("p", { class: "muted small" }, p.category),
    h("p", { class: "price", "data-testid": "product-price" }, price(p.price_cents)),
    p.stock > 0 ? null : h("p", { class: "tag" }, "Out of stock")
  );
}

// The list's state as URL parameters (#/?q=..&category=..&sort=..), defaults left out.
function listHash(state) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.category) params.set("category", state.category);
  if (state.sort && state.sort !== "name") params.set("sort", state.sort);
  const query = params.toString();
  return query ? "#/?" + query : "#/";
}

function productsPath(state, cursor) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.q) params.set("q", state.q);
  if (state.category) params.set("category", state.category);
  if (state.sort) params.set("sort", state.sort);
  if (cursor) params.set("cursor", cursor);
  return "/products?" + params.toString();
}

function heading(state) {
  if (state.q) return "Results for “" + state.q + "”" + (state.category ? " in " + state.category : "");
  return state.category ? state.category : "All products";
}

export async function renderProducts(params) {
  const state = {
    q: (params.get("q") || "").slice(0, 100),
    category: params.get("category") || "",
    sort: SORTS.some(([value]) => value === params.get("sort")) ? params.get("sort") : "name",
  };
  const [categories, firstPage] = await Promise.all([
    api("GET", "/categories"),
    api("GET", productsPath(state, null)),
  ]);
  const counts = Object.fromEntries(categories.items.map((c) => [c.category, c.count]));
  const total = categories.items.reduce((sum, c) => sum + c.count, 0);

  // Search, category and sort in one form: the category and sort apply when the form is
  // submitted (the Apply button or Enter), so moving through the options with the arrow keys
  // changes nothing; the search box also refreshes the results as the shopper types.
  const search = h("input", {
    id: "search", type: "search", name: "q", value: state.q, maxlength: 100, autocomplete: "off",
    "data-testid": "search-input", placeholder: "Search products",
  });
  const select = h(
    "select",
    { id: "category", name: "category", "data-testid": "category-filter" },
    h("option", { value: "" }, "All categories (" + total + ")"),
    categories.items.map((c) =>
      h("option", { value: c.category, selected: c.category === state.category }, c.category + " (" + c.count + ")"))
  );
  const sort = h(
    "select",
    { id: "sort", name: "sort", "data-testid": "sort-select" },
    SORTS.map(([value, label]) => h("option", { value, selected: value === state.sort }, label))
  );
  const apply = h("button", { type: "submit", class: "button", "data-testid": "apply-filters" }, "Apply");
  const title = h("h1", {}, heading(state));
  const list = h("ul", { class: "grid", "data-testid": "product-list" });
  const empty = h("p", { class: "muted", "data-testid": "product-list-empty", hidden: true }, "No products found.");
  const shownCount = h("p", { class: "muted small", "data-testid": "product-count", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "button", "data-testid": "load-more", hidden: true }, "Show more products");

  let cursor = null;
  let shown = 0;
  let generation = 0; // a newer search replaces the list; answers to older ones are dropped

  function describe() {
    const known = state.q ? null : state.category ? counts[state.category] || 0 : total;
    shownCount.textContent = known === null
      ? shown + (cursor ? "+" : "") + " products found"
      : "Showing " + shown + " of " + known + " products";
  }

  function append(page, focusFirst) {
    const cards = page.items.map(productCard);
    list.append(...cards);
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = shown > 0;
    list.hidden = shown === 0;
    describe();
    if (focusFirst && cards.length) cards[0].querySelector("a").focus();
  }

  async function reload() {
    const mine = ++generation;
    const page = await api("GET", productsPath(state, null));
    if (mine !== generation) return;
    list.replaceChildren();
    shown = 0;
    append(page, false);
    title.textContent = heading(state);
  }

  more.addEventListener("click", async () => {
    if (!cursor || more.getAttribute("aria-busy") === "true") return;
    const mine = generation;
    more.setAttribute("aria-busy", "true");
    try {
      const page = await api("GET", productsPath(state, cursor));
      if (mine === generation) append(page, true); // focus the first new product, not the body
    } catch (err) {
      fail(err);
    } finally {
      more.removeAttribute("aria-busy");
    }
  });

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      state.q = search.value.trim().slice(0, 100);
      // The URL follows the search without a new route (focus stays in the box).
      history.replaceState(null, "", listHash(state));
      try {
        await reload();
      } catch (err) {
        fail(err);
      }
    }, SEARCH_DELAY_MS);
  });

  const form = h("form", {
    class: "filters", role: "search", "aria-label": "Products",
    onsubmit: (e) => {
      e.preventDefault();
      clearTimeout(timer);
      const next = { q: search.value.trim().slice(0, 100), category: select.value, sort: sort.value };
      const hash = listHash(next);
      if (hash === location.hash || (hash === "#/" && !location.hash)) {
        Object.assign(state, next);
        reload().catch(fail);
      } else {
        location.hash = hash;
      }
    },
  },
  h("div", { class: "field" }, h("label", { for: "search" }, "Search"), search),
  h("div", { class: "field" }, h("label", { for: "category" }, "Category"), select),
  h("div", { class: "field" }, h("label", { for: "sort" }, "Sort by"), sort),
  h("div", { class: "field field-action" }, apply));

  show(title, form, shownCount, list, empty, h("div", { class: "more" }, more));
  append(firstPage, false);
  return true;
}

function stockNote(stock) {
  return stock > 0 ? stock + " in stock" : "Out of stock";
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
  const stock = h("p", { class: "muted small", "data-testid": "product-stock" }, stockNote(product.stock));
  const add = h("button", { type: "submit", class: "button primary", "data-testid": "add-to-cart", disabled: product.stock < 1 },
    product.stock > 0 ? "Add to cart" : "Out of stock");
  let busy = false;
  const form = h("form", {
    class: "buy",
    onsubmit: async (e) => {
      e.preventDefault();
      if (busy) return;
      clearMessages();
      // Busy, not disabled: disabling the focused button would drop keyboard focus to the page.
      busy = true;
      add.setAttribute("aria-disabled", "true");
      try {
        const cart = await currentCart(true);
        const existing = cart.items.find((line) => line.product_id === product.id);
        const wanted = (existing ? existing.quantity : 0) + Number(quantity.value || 1);
        await setQuantity(product.id, wanted);
        say(product.name + " added to your cart.");
      } catch (err) {
        if (err.code === "out_of_stock" && err.details && err.details.items && err.details.items.length) {
          const available = err.details.items[0].available;
          stock.textContent = stockNote(available);
        }
        fail(err, { fields: { quantity }, names: { [product.id]: product.name } });
      } finally {
        busy = false;
        add.removeAttribute("aria-disabled");
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
        stock,
        form))
  );
}
