// Time-series charts with uPlot (served at /dashboard/uplot.js as the global `uPlot`), fed
// by GET /api/v1/metrics/series. Each chart is a <figure> with a caption and an aria-label
// that says its totals; `data-points` counts the values above zero it drew (tests read it).

import { h, ms, number, small } from "./dom.js";

export const colors = { blue: "#2563eb", red: "#dc2626", amber: "#b45309", green: "#15803d", purple: "#7c3aed" };

/** Ranges the API keeps, as the page offers them. */
export const ranges = [["1h", "1 h"], ["24h", "24 h"], ["7d", "7 d"]];

/**
 * A line chart of `series` ([{label, values, color}]) over the steps starting at `startMs`.
 * Redrawn to its box's width when the window resizes, until `signal` aborts.
 */
export function lineChart({ id, title, summary, startMs, series, signal, unit = "", dots = false, height = 180 }) {
  const format = (v) => (v === null ? "–" : unit === "ms" ? ms(v) : unit === "/s" ? small(v) : number(v));
  const box = h("div", { class: "chart-box" });
  const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null && v > 0).length, 0);
  const figure = h("figure", { class: "chart", id, "aria-label": `${title}: ${summary}`, dataset: { points: String(points) } },
    h("figcaption", {}, title, h("span", { class: "chart-summary" }, summary)),
    box,
  );
  // Drawn once the figure is in the page (uPlot needs its width).
  requestAnimationFrame(() => {
    if (signal.aborted) return;
    const width = () => Math.max(200, box.clientWidth);
    const plot = new uPlot({
      width: width(),
      height,
      scales: { x: { time: true } },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          // A latency is null in idle steps: a busy step between idle ones is a dot, not nothing.
          points: { show: dots, size: 5, fill: s.color },
          value: (_u, v) => format(v),
        })),
      ],
      axes: [{}, { size: 64, values: (_u, ticks) => ticks.map(format) }],
    }, [startMs.map((t) => t / 1000), ...series.map((s) => s.values)], box);
    figure.dataset.drawn = "1";
    const resize = () => plot.setSize({ width: width(), height });
    window.addEventListener("resize", resize);
    signal.addEventListener("abort", () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    });
  });
  return figure;
}

/** Links to the same page with another range; the current one is marked for screen readers. */
export function rangePicker(current, hrefOf) {
  return h("nav", { class: "ranges", "aria-label": "Time range" },
    ranges.map(([value, label]) => h("a", { href: hrefOf(value), "aria-current": value === current ? "true" : false }, label)),
  );
}

/** The usual charts of a series answer: requests per second, errors, latency, cold starts, CPU. */
export function seriesCharts(series, signal, { cold = true } = {}) {
  const p = series.points;
  const perSecond = p.invocations.map((n) => n / (series.stepMs / 1000));
  const t = series.total;
  const charts = [
    lineChart({ id: "chart-requests", title: "Requests per second", summary: `${number(t.invocations)} invocations`, startMs: p.startMs, signal, unit: "/s",
      series: [{ label: "req/s", values: perSecond, color: colors.blue }] }),
    lineChart({ id: "chart-errors", title: "Errors", summary: `${number(t.serverErrors)} 5xx, ${number(t.clientErrors)} 4xx, ${number(t.throttled)} throttled`, startMs: p.startMs, signal,
      series: [
        { label: "5xx", values: p.serverErrors, color: colors.red },
        { label: "4xx", values: p.clientErrors, color: colors.amber },
        { label: "429", values: p.throttled, color: colors.purple },
      ] }),
    lineChart({ id: "chart-latency", title: "Latency", summary: `p50 ${ms(t.p50Ms)}, p99 ${ms(t.p99Ms)}`, startMs: p.startMs, signal, unit: "ms", dots: true,
      series: [
        { label: "p50", values: p.p50Ms, color: colors.blue },
        { label: "p99", values: p.p99Ms, color: colors.red },
      ] }),
  ];
  if (cold) {
    charts.push(lineChart({ id: "chart-cold", title: "Cold starts", summary: number(t.coldStarts), startMs: p.startMs, signal,
      series: [{ label: "cold starts", values: p.coldStarts, color: colors.green }] }));
  }
  charts.push(lineChart({ id: "chart-cpu", title: "CPU time", summary: ms(t.cpuMs), startMs: p.startMs, signal, unit: "ms",
    series: [{ label: "CPU", values: p.cpuMs, color: colors.purple }] }));
  return h("div", { class: "charts" }, charts);
}

/** The headline numbers of a series answer. */
export function statTiles(series) {
  const t = series.total;
  const spanSeconds = (series.untilMs - series.sinceMs) / 1000;
  const tile = (stat, label, value) => h("div", { class: "tile", dataset: { stat } }, h("span", { class: "tile-label" }, label), h("span", { class: "tile-value" }, value));
  return h("div", { class: "tiles" },
    tile("rate", "Requests/s", small(t.invocations / spanSeconds)),
    tile("invocations", "Invocations", number(t.invocations)),
    tile("errors", "Errors (5xx)", number(t.serverErrors)),
    tile("p50", "p50", ms(t.p50Ms)),
    tile("p99", "p99", ms(t.p99Ms)),
    tile("cold", "Cold starts", number(t.coldStarts)),
    tile("cpu", "CPU", ms(t.cpuMs)),
  );
}
