// A function's log as it is written: the last 100 lines, then every second the lines after
// the last one shown (GET /functions/<name>/logs?after=<id>), as `flick logs` reads them.
// A line stored now shows within about a second. Polling, not the NDJSON follow stream:
// it survives a node restart and needs nothing kept open. Stops when the page is left.

import { api, fnPath } from "./api.js";
import { h } from "./dom.js";

const pollMs = 1000;
/** Lines kept on the page; older ones go. */
const keep = 500;

function lineItem(line) {
  const r = line.request;
  return h("li", { class: `log-line level-${line.level}${r === undefined ? "" : " request-line"}`, dataset: { id: String(line.id) } },
    h("time", { datetime: new Date(line.timeMs).toISOString() }, new Date(line.timeMs).toISOString().slice(11, 23)),
    h("span", { class: "log-level" }, line.level),
    h("span", { class: "log-invocation", title: line.invocationId }, line.invocationId.slice(0, 8)),
    // The message is the function's own text: a text node, whatever it contains.
    h("span", { class: "log-message" }, r === undefined ? line.message : `▸ ${line.message}`),
  );
}

export function logTail({ name, signal }) {
  const list = h("ol", { id: "log-tail", class: "log", role: "log", "aria-label": `Log of ${name}`, dataset: { state: "starting" } });
  const status = h("p", { class: "log-status", role: "status" }, "Loading the last lines…");
  let after = 0;
  let timer;
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  const poll = async (first) => {
    if (signal.aborted) return;
    try {
      const { lines } = await api(`${fnPath(name)}/logs?${first ? "limit=100" : `after=${after}&limit=1000`}`, { signal });
      for (const line of lines) {
        if (line.id <= after) continue;
        after = line.id;
        list.append(lineItem(line));
      }
      while (list.children.length > keep) list.firstElementChild.remove();
      if (list.dataset.state !== "live") {
        list.dataset.state = "live";
        status.textContent = "Following: new lines appear here within a second.";
      }
    } catch (err) {
      if (signal.aborted) return;
      status.textContent = `Paused (${err.message}); trying again.`;
    }
    if (!signal.aborted) timer = setTimeout(() => void poll(false), pollMs);
  };
  void poll(true);
  return h("section", { "aria-labelledby": "log-title", class: "log-section" }, h("h2", { id: "log-title" }, "Live log"), status, list);
}
