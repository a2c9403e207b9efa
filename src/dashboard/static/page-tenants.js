// #/tenants?since=24h|7d|30d: tenants, their metered usage (GET /usage) and what they store
// against their storage quotas (GET /tenants/<name>/storage). The admin sees
// every tenant and its limits; a tenant's token sees its own usage only.

import { api } from "./api.js";
import { bytes, fill, h, link, ms, number, small, table, when } from "./dom.js";

const spans = [["24h", "24 h", 24 * 3600_000], ["7d", "7 d", 7 * 24 * 3600_000], ["30d", "30 d", 30 * 24 * 3600_000]];

export async function tenantsPage({ main, who, params, signal }) {
  const span = spans.find(([key]) => key === params.get("since")) ?? spans[0];
  const since = Date.now() - span[2];
  const admin = who.role === "admin";
  const [byFunction, byTenant, tenants] = await Promise.all([
    api(`/usage?since=${since}&by=function`, { signal }),
    admin ? api(`/usage?since=${since}&by=tenant`, { signal }) : null,
    admin ? api("/tenants", { signal }).then((a) => a.tenants) : null,
  ]);
  // What each tenant stores against its storage quotas (GET /tenants/<name>/storage): the
  // admin's every tenant, a tenant's token its own.
  const storage = await Promise.all((tenants?.map((t) => t.name) ?? [who.tenant]).map((name) => api(`/tenants/${encodeURIComponent(name)}/storage`, { signal })));
  const storageKinds = [["kv", "KV"], ["sql", "SQL databases"], ["do", "Durable objects"]];
  const stored = (s, kind) => {
    const k = s.kinds.find((x) => x.kind === kind);
    return k === undefined ? "–" : `${bytes(k.bytes)} of ${bytes(k.quotaBytes)}`;
  };
  const picker = h("nav", { class: "ranges", "aria-label": "Usage since" },
    spans.map(([key, label]) => h("a", { href: `#/tenants?since=${key}`, "aria-current": key === span[0] ? "true" : false }, `last ${label}`)));
  const usageCells = (u) => [number(u?.invocations ?? 0), ms(u?.cpuMs ?? 0), small(u?.gbSeconds ?? 0), bytes(u?.egressBytes ?? 0)];
  const usageOf = new Map((byTenant?.lines ?? []).map((l) => [l.tenant, l]));
  fill(main,
    h("h1", { tabindex: "-1" }, admin ? "Tenants" : `Tenant ${who.tenant}`),
    h("p", { class: "lead" }, "Metered usage counts from the start of the first hour in the span (as flick usage does)."),
    h("div", { class: "toolbar" }, picker),
    tenants === null ? null : h("section", { "aria-labelledby": "tenants-title" },
      h("h2", { id: "tenants-title" }, "Tenants"),
      table("Tenants and their usage", ["Tenant", "Created", "Concurrency", "Provisioned", "Invocations", "CPU", "GB-s", "Egress"], tenants.map((t) => [
        t.name,
        when(t.createdAtMs),
        t.concurrency === null || t.concurrency === undefined ? "node default" : number(t.concurrency),
        t.provisioned === undefined ? "–" : `${t.provisioned.instances} of ${t.provisioned.maxInstances} instances`,
        ...usageCells(usageOf.get(t.name)),
      ]), { id: "tenants" }),
    ),
    h("section", { "aria-labelledby": "storage-title" },
      h("h2", { id: "storage-title" }, "Storage"),
      h("p", { class: "lead" }, `What each tenant stores against its quotas, as node ${storage[0]?.node ?? ""} counts it (flick tenants storage).`),
      table("Storage against quotas", ["Tenant", ...storageKinds.map(([, label]) => label)], storage.map((s) => [
        s.tenant,
        ...storageKinds.map(([kind]) => stored(s, kind)),
      ]), { id: "storage" }),
    ),
    h("section", { "aria-labelledby": "usage-title" },
      h("h2", { id: "usage-title" }, "Usage by function"),
      table("Usage by function", [...(admin ? ["Tenant"] : []), "Function", "Invocations", "CPU", "GB-s", "Egress"], byFunction.lines.map((l) => [
        ...(admin ? [l.tenant] : []),
        link(l.function, "functions", l.function),
        ...usageCells(l),
      ]), { id: "usage" }),
      h("p", { class: "total", dataset: { invocations: String(byFunction.total.invocations) } }, `In total: ${number(byFunction.total.invocations)} invocations, ${ms(byFunction.total.cpuMs)} CPU, ${small(byFunction.total.gbSeconds)} GB-s.`),
    ),
  );
}
