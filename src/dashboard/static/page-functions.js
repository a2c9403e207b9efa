// #/functions: every function the token sees, with its status, live version and recent numbers.

import { api } from "./api.js";
import { fill, h, link, ms, number, table, when } from "./dom.js";

/** What a function is doing now, in a word or two. */
export function statusOf(fn) {
  if (fn.scale.maxInstances === 0) return "stopped (max instances 0)";
  if (fn.traffic.length > 1) return `split: ${fn.traffic.map((t) => `${t.version} ${t.percent}%`).join(", ")}`;
  if (fn.stats.busy > 0) return "serving";
  return fn.instances > 0 ? "warm" : "idle";
}

export async function functionsPage({ main, who, signal }) {
  const { functions } = await api("/functions", { signal });
  const admin = who.role === "admin";
  const headers = ["Name", ...(admin ? ["Tenant"] : []), "Status", "Live version", "Instances", "Invocations", "p50 / p99", "Updated"];
  const rows = functions.map((f) => [
    link(f.name, "functions", f.name),
    ...(admin ? [f.tenant] : []),
    statusOf(f),
    h("code", {}, f.liveVersion),
    `${number(f.stats.warm)} warm, ${number(f.stats.busy)} busy`,
    h("span", { dataset: { invocations: f.name } }, number(f.stats.invocations)),
    `${ms(f.stats.p50Ms)} / ${ms(f.stats.p99Ms)}`,
    when(f.updatedAtMs),
  ]);
  fill(main,
    h("h1", { tabindex: "-1" }, "Functions"),
    h("p", { class: "lead" }, `${functions.length} function${functions.length === 1 ? "" : "s"}. Invocations count since the node started; latencies cover the last 5 minutes.`),
    table("Functions", headers, rows, { id: "functions" }),
  );
}
