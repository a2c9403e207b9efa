// #/invocations?function=<name>[&id=<invocation>]: a function's latest async invocations,
// its recent invocations (their request lines), its dead-letter list with replay, and one
// async invocation looked up by id.

import { api, fnPath } from "./api.js";
import { facts, fill, h, link, ms, notice, number, table, when } from "./dom.js";

export async function invocationsPage({ main, params, signal, reload }) {
  const { functions } = await api("/functions", { signal });
  const chosen = functions.find((f) => f.name === params.get("function"))?.name ?? functions[0]?.name;
  const lookupId = params.get("id");
  const looked = lookupId === null || lookupId === "" ? null : await api(`/invocations/${encodeURIComponent(lookupId)}`, { signal }).catch((err) => err);
  const parts = [h("h1", { tabindex: "-1" }, "Invocations")];
  if (chosen === undefined) {
    fill(main, parts, notice("ok", "No functions yet: deploy one with flick deploy."));
    return;
  }
  const [fn, { invocations: queued }, { invocations: dead }, { lines }] = await Promise.all([
    api(fnPath(chosen), { signal }),
    api(`${fnPath(chosen)}/invocations?limit=50`, { signal }),
    api(`${fnPath(chosen)}/dlq?limit=100`, { signal }),
    api(`${fnPath(chosen)}/logs?limit=1000`, { signal }),
  ]);
  const hrefWith = (extra) => `#/invocations?${new URLSearchParams({ function: chosen, ...extra })}`;
  const message = h("div", { class: "messages" });
  const replay = (ids, label) =>
    h("button", {
      type: "button",
      class: "replay",
      "aria-label": label,
      on: {
        click: async (event) => {
          event.currentTarget.disabled = true;
          try {
            const { replayed } = await api(`${fnPath(chosen)}/dlq/replay`, { method: "POST", body: ids === null ? {} : { ids }, signal });
            await reload(`Replayed ${replayed.length} invocation${replayed.length === 1 ? "" : "s"}: queued again with fresh attempts.`);
          } catch (err) {
            if (signal.aborted) return;
            fill(message, notice("error", `The replay failed: ${err.message}`));
            event.target.disabled = false;
          }
        },
      },
    }, ids === null ? "Replay all" : "Replay");

  const select = h("select", { id: "invocations-function", name: "function" }, functions.map((f) => h("option", { value: f.name, selected: f.name === chosen }, f.name)));
  const picker = h("form", { class: "inline-form" }, h("label", { for: "invocations-function" }, "Function"), select, h("button", { type: "submit" }, "Show"));
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/invocations?${new URLSearchParams({ function: select.value })}`;
  });
  const idInput = h("input", { id: "invocation-id", name: "id", type: "text", autocomplete: "off", spellcheck: "false", value: lookupId ?? "" });
  const lookup = h("form", { class: "inline-form" }, h("label", { for: "invocation-id" }, "Invocation id"), idInput, h("button", { type: "submit" }, "Look up"));
  lookup.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = hrefWith(idInput.value.trim() === "" ? {} : { id: idInput.value.trim() });
  });

  const recent = lines.filter((l) => l.request !== undefined).slice(-50).reverse();
  const a = fn.invocations;
  fill(main, parts,
    message,
    h("div", { class: "toolbar" }, picker),
    h("p", { class: "lead" }, link(chosen, "functions", chosen), a === undefined ? "" : `: async invocations ${a.queued} queued, ${a.running} running, ${a.completed} completed, ${a.dead} dead.`),
    h("section", { "aria-labelledby": "dead-title" },
      h("h2", { id: "dead-title" }, "Dead letters"),
      h("p", {}, "Async invocations that ran out of retries or expired. Replaying queues them again with fresh attempts."),
      dead.length === 0 ? null : replay(null, `Replay all ${dead.length} dead letters of ${chosen}`),
      table("Dead-letter list, newest first", ["Id", "Kind", "Attempts", "Why", "Last error", "Created", ""], dead.map((inv) => [
        h("code", {}, inv.id),
        inv.kind,
        number(inv.attempts),
        inv.deadReason ?? "–",
        inv.lastError === null ? "–" : `${inv.lastError.code}: ${inv.lastError.message}`,
        when(inv.createdAtMs),
        replay([inv.id], `Replay invocation ${inv.id}`),
      ]), { id: "dead-letters" }),
    ),
    h("section", { "aria-labelledby": "async-title" },
      h("h2", { id: "async-title" }, "Async invocations"),
      h("p", {}, "The latest 50 from the API, queue bindings and cron, most recently changed first."),
      table("Async invocations, most recently changed first", ["Id", "Kind", "Status", "Attempts", "Updated", "Result or error"], queued.map((inv) => [
        h("a", { href: hrefWith({ id: inv.id }) }, h("code", {}, inv.id)),
        inv.kind,
        inv.deadReason === null ? inv.status : `${inv.status} (${inv.deadReason})`,
        `${number(inv.attempts)} (${number(inv.failures)} failed)`,
        when(inv.updatedAtMs),
        inv.result !== null ? `${inv.result.status}: ${inv.result.body.slice(0, 80)}` : inv.lastError !== null ? `${inv.lastError.code}: ${inv.lastError.message.slice(0, 80)}` : "–",
      ]), { id: "async-invocations" }),
    ),
    h("section", { "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Recent invocations"),
      h("p", {}, "Those worth a line: they printed something, failed, or answered 5xx. Quiet successes are counted in the charts only."),
      table("Recent invocations, newest first", ["Time", "Invocation", "Request", "Status", "Time taken", "Cold"], recent.map((l) => [
        when(l.timeMs),
        h("code", { title: l.invocationId }, l.invocationId.slice(0, 8)),
        `${l.request.method} ${l.request.path}`,
        l.request.code === undefined ? String(l.request.status) : `${l.request.status} ${l.request.code}`,
        ms(l.request.ms),
        l.request.cold ? "yes" : "no",
      ]), { id: "recent-invocations" }),
    ),
    h("section", { "aria-labelledby": "lookup-title" },
      h("h2", { id: "lookup-title" }, "Look up an async invocation"),
      lookup,
      looked === null ? null : looked instanceof Error ? notice("error", looked.message) : facts([
        ["Id", looked.id],
        ["Function", looked.function],
        ["Status", looked.status],
        ["Attempts", `${looked.attempts} (${looked.failures} failed)`],
        ["Created", when(looked.createdAtMs)],
        ["Result", looked.result === null ? "–" : `${looked.result.status}: ${looked.result.body}${looked.result.truncated ? "…" : ""}`],
        ["Last error", looked.lastError === null ? "–" : `${looked.lastError.code}: ${looked.lastError.message}`],
        ["Payload", "text" in looked.payload ? looked.payload.text : `${looked.payload.base64.length} base64 characters`],
      ]),
    ),
  );
}
