// #/functions/<name>?range=…: one function — its charts, settings, versions (with rollback)
// and its log as it is written.

import { api, fnPath } from "./api.js";
import { rangePicker, seriesCharts, statTiles } from "./charts.js";
import { bytes, duration, facts, fill, h, ms, notice, number, table, when } from "./dom.js";
import { logTail } from "./log-tail.js";
import { rangeOf } from "./page-overview.js";
import { statusOf } from "./page-functions.js";

export async function functionPage({ main, args, params, signal, reload }) {
  const [name] = args;
  const range = rangeOf(params);
  const [fn, { versions }, series] = await Promise.all([
    api(fnPath(name), { signal }),
    api(`${fnPath(name)}/versions`, { signal }),
    api(`/metrics/series?${new URLSearchParams({ range, function: name })}`, { signal }),
  ]);
  const s = fn.settings;
  const message = h("div", { class: "messages" });
  const rollback = (version) =>
    h("button", {
      type: "button",
      class: "rollback",
      "aria-label": `Roll back ${name} to version ${version.id}`,
      on: {
        click: async (event) => {
          event.currentTarget.disabled = true;
          try {
            const info = await api(`${fnPath(name)}/rollback`, { method: "POST", body: { to: version.id }, signal });
            await reload(`Rolled back: version ${info.liveVersion} is live.`);
          } catch (err) {
            if (signal.aborted) return;
            fill(message, notice("error", `The rollback failed: ${err.message}`));
            event.target.disabled = false;
          }
        },
      },
    }, "Roll back to this");
  fill(main,
    h("h1", { tabindex: "-1" }, name),
    message,
    h("p", { class: "lead" },
      `Tenant ${fn.tenant}. Status: ${statusOf(fn)}. Live version `, h("code", {}, fn.liveVersion), ". Answers at ", h("code", {}, fn.url), "."),
    h("div", { class: "toolbar" }, rangePicker(range, (r) => `#/functions/${encodeURIComponent(name)}?range=${r}`), h("a", { href: `#/invocations?${new URLSearchParams({ function: name })}` }, "Invocations and dead letters")),
    statTiles(series),
    seriesCharts(series, signal),
    h("section", { "aria-labelledby": "settings-title" },
      h("h2", { id: "settings-title" }, "Settings"),
      facts([
        ["Memory", `${number(s.memoryMiB)} MiB`],
        ["Timeout", duration(s.timeoutMs)],
        ["CPU limit", s.cpuLimitMs === null ? "none (the timeout bounds it)" : ms(s.cpuLimitMs)],
        ["Private", s.private ? "yes: callers need a token" : "no"],
        ["Async retries", number(s.retries)],
        ["Max event age", duration(s.maxEventAgeMs)],
        ["Cron", s.crons.length === 0 ? "none" : s.crons.join(", ")],
        ["Handlers", s.handlers.join(", ")],
        ["Env vars", Object.keys(s.env).length === 0 ? "none" : Object.keys(s.env).join(", ")],
        ["Secrets", s.secretNames.length === 0 ? "none" : s.secretNames.join(", ")],
        ["Instances", `min ${number(fn.scale.minInstances)}, max ${fn.scale.maxInstances === null ? "no cap" : number(fn.scale.maxInstances)}`],
        ["Async invocations", fn.invocations === undefined ? "–" : `${fn.invocations.queued} queued, ${fn.invocations.running} running, ${fn.invocations.completed} completed, ${fn.invocations.dead} dead`],
      ]),
    ),
    h("section", { "aria-labelledby": "versions-title" },
      h("h2", { id: "versions-title" }, "Versions"),
      table("Versions, newest first", ["Version", "Deployed", "Size", "Traffic", ""], versions.map((v) => [
        h("code", {}, v.id),
        when(v.createdAtMs),
        bytes(v.bundleBytes),
        v.live ? `live${v.percent < 100 ? ` (${v.percent}%)` : ""}` : `${v.percent}%`,
        v.live && v.percent === 100 ? "" : rollback(v),
      ]), { id: "versions" }),
    ),
    logTail({ name, signal }),
  );
}
