// The dashboard's shell: sign-in, the hash router (#/overview, #/functions, #/functions/<name>,
// #/invocations, #/tenants) and the navigation. Each page is a function that loads what it
// shows from the admin API and fills <main>; leaving a page aborts its signal, which stops
// its requests, its log tail and its charts' resize handlers.

import { api, session, whenUnauthorized } from "./api.js";
import { fill, h, notice } from "./dom.js";
import { functionPage } from "./page-function.js";
import { functionsPage } from "./page-functions.js";
import { invocationsPage } from "./page-invocations.js";
import { overviewPage } from "./page-overview.js";
import { tenantsPage } from "./page-tenants.js";
import { signInForm } from "./sign-in.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const whoLabel = document.getElementById("who");
const signOutButton = document.getElementById("sign-out");

const routes = [
  [/^\/overview$/, overviewPage],
  [/^\/functions$/, functionsPage],
  [/^\/functions\/([^/]+)$/, functionPage],
  [/^\/invocations$/, invocationsPage],
  [/^\/tenants$/, tenantsPage],
];

/** `{role, tenant}` of the signed-in token, or null when signed out. */
let who = null;
/** The page shown now: aborted when another replaces it. */
let page = null;
/** A message for the next page shown (after a rollback, a replay). */
let flash = null;

function route() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/overview";
  const at = raw.indexOf("?");
  return { path: at === -1 ? raw : raw.slice(0, at), params: new URLSearchParams(at === -1 ? "" : raw.slice(at + 1)) };
}

async function show({ focus = false } = {}) {
  page?.abort();
  page = new AbortController();
  const signal = page.signal;
  if (who === null) {
    showSignedOut();
    return;
  }
  const { path, params } = route();
  for (const a of nav.querySelectorAll("a")) {
    const target = a.getAttribute("href").slice(1);
    a.toggleAttribute("aria-current", path === target || path.startsWith(`${target}/`));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  main.dataset.route = path;
  main.dataset.state = "loading";
  main.setAttribute("aria-busy", "true");
  const match = routes.find(([pattern]) => pattern.test(path));
  try {
    if (match === undefined) throw new Error(`There is no page ${path}; pick one from the menu above.`);
    let args;
    try {
      args = match[0].exec(path).slice(1).map(decodeURIComponent);
    } catch {
      throw new Error(`The address ${path} is not valid percent-encoding.`);
    }
    const reload = (message) => {
      flash = message;
      return show();
    };
    await match[1]({ main, who, args, params, signal, reload });
    if (flash !== null) {
      main.querySelector("h1")?.after(notice("ok", flash));
      flash = null;
    }
  } catch (err) {
    if (signal.aborted) return;
    fill(main, h("h1", { tabindex: "-1" }, "This page could not be shown"), notice("error", err.message));
  }
  if (signal.aborted) return;
  main.removeAttribute("aria-busy");
  main.dataset.state = "ready";
  if (focus) main.querySelector("h1")?.focus();
}

function showSignedOut() {
  nav.hidden = true;
  signOutButton.hidden = true;
  whoLabel.textContent = "";
  main.dataset.route = "/sign-in";
  fill(main, signInForm(async (token, who_) => {
    session.token = token;
    signedIn(who_);
    await show();
    // Keyboard users land on the menu.
    nav.querySelector("a")?.focus();
  }));
  main.removeAttribute("aria-busy");
  main.dataset.state = "ready";
}

function signedIn(answer) {
  who = answer;
  nav.hidden = false;
  signOutButton.hidden = false;
  whoLabel.textContent = who.role === "admin" ? "Signed in as the admin" : `Signed in as tenant ${who.tenant}`;
}

function signOut() {
  session.token = null;
  who = null;
  void show();
}

whenUnauthorized(signOut);
signOutButton.addEventListener("click", signOut);
window.addEventListener("hashchange", () => void show({ focus: true }));

async function start() {
  const token = session.token;
  if (token !== null) {
    try {
      signedIn(await api("/whoami"));
    } catch {
      session.token = null;
    }
  }
  await show();
}

void start();
