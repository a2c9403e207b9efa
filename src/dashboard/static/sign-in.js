// The sign-in form: a token, checked with GET /api/v1/whoami before it is kept.

import { api } from "./api.js";
import { fill, h, notice } from "./dom.js";

/** The form; `onSignedIn(token, whoami)` once the node accepts the token. */
export function signInForm(onSignedIn) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "token-help" });
  const message = h("div", { id: "sign-in-message" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { id: "sign-in", class: "sign-in", novalidate: true },
    h("label", { for: "token" }, "Token"),
    input,
    h("p", { id: "token-help", class: "help" },
      "The admin token (in <data-dir>/admin.token) shows every tenant; a tenant's token (from flick tenants create) shows its own functions. It is kept in this tab only."),
    button,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === "") {
      fill(message, notice("error", "Enter a token first."));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const who = await api("/whoami", { token });
      await onSignedIn(token, who);
    } catch (err) {
      fill(message, notice("error", err.status === 401 ? "The node does not know this token. Check that you copied all of it." : err.message));
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  return [h("h1", { tabindex: "-1" }, "Sign in to Flick"), form];
}
