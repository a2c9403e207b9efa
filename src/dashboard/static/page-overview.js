// #/overview?range=1h|24h|7d[&tenant=T]: the headline numbers and charts of every function
// the token sees (the admin: every tenant's, or one tenant's).

import { api } from "./api.js";
import { rangePicker, ranges, seriesCharts, statTiles } from "./charts.js";
import { fill, h } from "./dom.js";

export const rangeOf = (params) => (ranges.some(([r]) => r === params.get("range")) ? params.get("range") : "1h");

export async function overviewPage({ main, who, params, signal }) {
  const range = rangeOf(params);
  const tenant = who.role === "admin" ? params.get("tenant") : null;
  const query = new URLSearchParams({ range });
  if (tenant !== null && tenant !== "") query.set("tenant", tenant);
  const [series, tenants] = await Promise.all([
    api(`/metrics/series?${query}`, { signal }),
    who.role === "admin" ? api("/tenants", { signal }).then((a) => a.tenants) : null,
  ]);
  const hrefOf = (r) => `#/overview?${new URLSearchParams({ range: r, ...(tenant ? { tenant } : {}) })}`;
  const scope = who.role === "admin" ? (tenant ? `Tenant ${tenant}'s functions.` : "Every tenant's functions.") : `Tenant ${who.tenant}'s functions.`;
  fill(main,
    h("h1", { tabindex: "-1" }, "Overview"),
    h("p", { class: "lead" }, scope, " Counts are this node's, kept per minute for a day and per hour for 30 days."),
    h("div", { class: "toolbar" }, rangePicker(range, hrefOf), tenants === null ? null : tenantFilter(tenants, tenant, range)),
    statTiles(series),
    seriesCharts(series, signal),
  );
}

/** The admin's choice of tenant: a form, so moving through the options with the keyboard does not reload the page each time. */
function tenantFilter(tenants, current, range) {
  const select = h("select", { id: "tenant-filter", name: "tenant" },
    h("option", { value: "" }, "All tenants"),
    tenants.map((t) => h("option", { value: t.name, selected: t.name === current }, t.name)),
  );
  const form = h("form", { class: "inline-form" }, h("label", { for: "tenant-filter" }, "Tenant"), select, h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/overview?${new URLSearchParams({ range, ...(select.value ? { tenant: select.value } : {}) })}`;
  });
  return form;
}
