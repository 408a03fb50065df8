// Customer accounts: sign up, confirm with the mailed code, sign in, sign out, my orders (pages of
// GET /api/me/orders). Views:
//   #/account            signed in: my orders and sign-out; otherwise the sign-in form
//   #/account/sign-up    the sign-up form, then the confirmation code
import { api, clearMessages, fail, h, price, say, show } from "./core.js";
import { forgetCart, mergeOnSignIn } from "./cart-state.js";
import { available, confirmSignUp, customer, signIn, signOut, signUp } from "./cognito.js";

const ORDERS_PAGE = 10;
const accountLink = document.querySelector('[data-testid="account-link"]');

export async function refreshAccountLink() {
  if (!accountLink) return;
  const who = await customer().catch(() => null);
  accountLink.textContent = who ? "My account" : "Sign in";
}

function field(id, label, attrs) {
  const input = h("input", Object.assign({ id, name: id, "data-testid": id, required: true }, attrs));
  return [input, h("div", { class: "field" }, h("label", { for: id }, label), input)];
}

function form(testid, heading, fields, submitLabel, onsubmit) {
  const submit = h("button", { type: "submit", class: "button primary", "data-testid": testid + "-submit" }, submitLabel);
  return h("form", {
    class: "checkout", "data-testid": testid,
    onsubmit: async (e) => {
      e.preventDefault();
      clearMessages();
      submit.disabled = true;
      try {
        await onsubmit();
      } catch (err) {
        fail(err);
      } finally {
        submit.disabled = false;
      }
    },
  }, h("h2", {}, heading), ...fields, submit);
}

async function afterSignIn() {
  const cart = await mergeOnSignIn();
  await refreshAccountLink();
  const capped = (cart.adjusted || []).length;
  say(capped ? "Signed in. Some quantities in your cart were reduced to what is in stock." : "Signed in.");
  goTo("#/account");
}

// Show ``hash``, also when it is the current one (the router listens to hashchange only).
function goTo(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

function signInForm(prefill) {
  const [email, emailField] = field("signin-email", "E-mail", { type: "email", autocomplete: "username", value: prefill || "" });
  const [password, passwordField] = field("signin-password", "Password", { type: "password", autocomplete: "current-password" });
  return form("signin", "Sign in", [emailField, passwordField], "Sign in", async () => {
    try {
      await signIn(email.value.trim(), password.value);
    } catch (err) {
      if (err.type === "UserNotConfirmedException") {
        show(h("h1", {}, "Confirm your e-mail"), confirmForm(email.value.trim(), password.value));
      }
      throw err;
    }
    await afterSignIn();
  });
}

function confirmForm(email, password) {
  const [code, codeField] = field("confirm-code", "Code from the e-mail", {
    type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 10,
  });
  return form("confirm", "Enter the code we sent to " + email, [codeField], "Confirm", async () => {
    await confirmSignUp(email, code.value.trim());
    if (password) {
      await signIn(email, password);
      await afterSignIn();
    } else {
      say("Your e-mail address is confirmed. Sign in.");
      show(h("h1", {}, "Sign in"), signInForm(email));
    }
  });
}

function signUpForm() {
  const [email, emailField] = field("signup-email", "E-mail", { type: "email", autocomplete: "username" });
  const [password, passwordField] = field("signup-password", "Password (12+ characters: upper and lower case, a digit, a symbol)", {
    type: "password", autocomplete: "new-password", minlength: 12,
  });
  return form("signup", "Create an account", [emailField, passwordField], "Sign up", async () => {
    const address = email.value.trim();
    await signUp(address, password.value);
    say("We sent a code to " + address + ".");
    show(h("h1", {}, "Confirm your e-mail"), confirmForm(address, password.value));
  });
}

async function myOrders(container, cursor) {
  const query = "?limit=" + ORDERS_PAGE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
  const page = await api("GET", "/me/orders" + query);
  const list = container.querySelector("ul") || container.appendChild(h("ul", { class: "orders", "data-testid": "my-orders" }));
  if (!page.items.length && !cursor) {
    container.replaceChildren(h("p", { class: "muted", "data-testid": "no-orders" }, "No orders yet."));
    return;
  }
  for (const order of page.items) {
    list.append(h("li", { "data-testid": "my-order" },
      h("a", { href: "#/order/" + encodeURIComponent(order.order_id) }, new Date(order.created_at).toLocaleDateString()),
      " · ", h("span", { "data-testid": "my-order-status" }, order.status.replace(/_/g, " ")),
      " · ", price(order.total_cents),
      " · ", order.items.map((line) => line.quantity + " × " + line.name).join(", ")));
  }
  const old = container.querySelector('[data-testid="more-orders"]');
  if (old) old.remove();
  if (page.next_cursor) {
    container.append(h("button", {
      type: "button", class: "button", "data-testid": "more-orders",
      onclick: () => myOrders(container, page.next_cursor).catch(fail),
    }, "More orders"));
  }
}

export async function renderAccount(rest) {
  if (!(await available())) {
    show(h("h1", {}, "Accounts"), h("p", {}, "Accounts are not available in this shop. You can still check out as a guest."));
    return true;
  }
  const who = await customer();
  if (rest[0] === "sign-up") {
    if (who) goTo("#/account");
    else show(h("h1", {}, "Sign up"), signUpForm());
    return true;
  }
  if (rest.length) return null;
  if (!who) {
    show(h("h1", {}, "Sign in"), signInForm(),
      h("p", {}, "New here? ", h("a", { href: "#/account/sign-up", "data-testid": "signup-link" }, "Create an account"), "."));
    return true;
  }
  const orders = h("section", { "aria-labelledby": "orders-heading" }, h("h2", { id: "orders-heading" }, "My orders"));
  show(h("h1", {}, "My account"),
    h("p", {}, "Signed in as ", h("strong", { "data-testid": "account-email" }, who.email || "")),
    h("button", {
      type: "button", class: "button", "data-testid": "signout",
      onclick: async () => {
        await signOut();
        forgetCart();
        await refreshAccountLink();
        say("Signed out.");
        goTo("#/");
      },
    }, "Sign out"),
    orders);
  await myOrders(orders, null);
  return true;
}

// Checkout's hook: a signed-in customer's order goes to their verified address (the API takes it
// from the token), so the field shows it and cannot be changed.
export async function lockEmail(input) {
  const who = await customer().catch(() => null);
  if (!who || !who.email) return;
  input.value = who.email;
  input.readOnly = true;
  input.setAttribute("aria-readonly", "true");
  input.title = "Your account's e-mail address";
}
