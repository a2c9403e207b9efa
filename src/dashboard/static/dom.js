// Building the page without markup strings: every text from the API (function names, log
// lines, error messages) goes in as a text node, so none of it can become HTML. Nothing
// here sets innerHTML, and event handlers are functions, never attribute strings.

/**
 * An element: `attrs` are attributes (strings, numbers, true for a bare one; false/null/undefined
 * leave it out), except `on` (event name → function) and `dataset`. Children are nodes or
 * text; arrays are flattened, null and false skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (/^on/i.test(name)) throw new Error(`h(): use { on: { ${name.slice(2)}: fn } }, not an ${name} attribute`);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child);
    else if (child === null || child === undefined || child === false) continue;
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table in a wrapper that scrolls sideways on its own, so a wide table never widens the page. */
export function table(caption, headers, rows, attrs = {}) {
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows.length === 0 ? h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "Nothing yet.")) : rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
    ),
  );
}

/** A definition list from [term, description] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** A status message read out by screen readers: `kind` "error" is an alert. */
export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export const number = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 2 }));
/** A figure that may be tiny (a rate, GB-seconds): two significant digits below 0.01 (5 requests in an hour are 0.0014/s, not 0). */
export const small = (n) => (n === 0 ? "0" : n < 0.01 ? n.toPrecision(2) : number(n));
/** A setting's duration: 30 s, 5 min, 6 h. */
export const duration = (n) => (n >= 3_600_000 && n % 3_600_000 === 0 ? `${n / 3_600_000} h` : n >= 60_000 && n % 60_000 === 0 ? `${n / 60_000} min` : ms(n));
export const ms = (n) => (n === null || n === undefined ? "–" : n >= 1000 ? `${number(n / 1000)} s` : `${number(n)} ms`);
export const when = (epochMs) => (epochMs === null || epochMs === undefined ? "–" : new Date(epochMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"));
export const bytes = (n) => (n >= 1 << 20 ? `${number(n / (1 << 20))} MiB` : n >= 1024 ? `${number(n / 1024)} KiB` : `${number(n)} B`);

/** A hash link to a page: `#/functions/<name>` with the name encoded. */
export const link = (text, ...segments) => h("a", { href: `#/${segments.map(encodeURIComponent).join("/")}` }, text);
