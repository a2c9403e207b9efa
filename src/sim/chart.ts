/**
 * `flick sim --chart FILE.svg`: one SVG image, two panels — the frontier (cold starts
 * against idle memory, one point per policy, the fixed TTLs joined by a line) and the
 * memory instances hold over the day for each policy. SVG written by hand: a few shapes do not
 * need a chart library, and the file opens in any browser.
 */
import type { SimResult } from "./simulate.ts";

const width = 960;
const height = 420;
const panel = { top: 40, bottom: 60, left: 70, right: 20, gap: 80 };
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round-ish tick values covering [0, max]. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

function label(v: number): string {
  return Math.abs(v) >= 10_000 ? `${Math.round(v / 1000)}k` : String(v);
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function axes(box: Box, xMax: number, yMax: number, xTitle: string, yTitle: string): { svg: string[]; px: (v: number) => number; py: (v: number) => number } {
  const px = (v: number) => box.x + (v / xMax) * box.w;
  const py = (v: number) => box.y + box.h - (v / yMax) * box.h;
  const svg: string[] = [];
  svg.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#999"/>`);
  for (const t of ticks(xMax)) {
    svg.push(`<line x1="${px(t)}" y1="${box.y + box.h}" x2="${px(t)}" y2="${box.y + box.h + 4}" stroke="#999"/>`);
    svg.push(`<text x="${px(t)}" y="${box.y + box.h + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of ticks(yMax)) {
    svg.push(`<line x1="${box.x - 4}" y1="${py(t)}" x2="${box.x + box.w}" y2="${py(t)}" stroke="#eee"/>`);
    svg.push(`<text x="${box.x - 8}" y="${py(t) + 4}" text-anchor="end">${label(t)}</text>`);
  }
  svg.push(`<text x="${box.x + box.w / 2}" y="${box.y + box.h + 40}" text-anchor="middle">${escape(xTitle)}</text>`);
  svg.push(`<text transform="translate(${box.x - 52} ${box.y + box.h / 2}) rotate(-90)" text-anchor="middle">${escape(yTitle)}</text>`);
  return { svg, px, py };
}

/** A label's box at 12 px sans-serif: about 7 px a character. */
const charWidth = 7;
const lineHeight = 14;

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Where a point's label goes: beside the point on the first side where it covers no
 * point or label placed before and stays inside the panel, else stepped away above or below.
 * Two policies a hair apart (hybrid-paper and fixed 30 min on the Azure sample) would
 * otherwise print one name over the other.
 */
function labelPlace(x: number, y: number, text: string, inside: Box, placed: Box[]): Box {
  const w = text.length * charWidth;
  const h = lineHeight;
  const sides = [
    { x: x + 6, y: y - 6 - h },
    { x: x + 6, y: y + 6 },
    { x: x - 6 - w, y: y - 6 - h },
    { x: x - 6 - w, y: y + 6 },
  ];
  const fits = (b: Box) => b.x >= inside.x && b.x + b.w <= inside.x + inside.w && b.y >= inside.y && b.y + b.h <= inside.y + inside.h && !placed.some((p) => overlaps(p, b));
  let box = sides.map((s) => ({ ...s, w, h })).find(fits);
  for (let step = 1; box === undefined && step < 40; step++) {
    const below: Box = { x: Math.min(x + 6, inside.x + inside.w - w), y: y + 6 + step * h, w, h };
    const above: Box = { ...below, y: y - 6 - (step + 1) * h };
    box = [below, above].find(fits);
  }
  box ??= { x: x + 6, y: y - 6 - h, w, h };
  placed.push(box);
  return box;
}

export function renderChart(results: readonly SimResult[], title: string): string {
  const w = (width - panel.left - panel.right - panel.gap - panel.left) / 2;
  const h = height - panel.top - panel.bottom;
  const left: Box = { x: panel.left, y: panel.top, w, h };
  const right: Box = { x: panel.left * 2 + w + panel.gap, y: panel.top, w, h };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];

  // Left: the frontier.
  const xMax = Math.max(...results.map((r) => r.idleGbMinutes)) * 1.1;
  const yMax = Math.max(...results.map((r) => r.coldPct)) * 1.15;
  const frontier = axes(left, xMax, yMax, "idle memory, GB-minutes", "cold starts, % of requests");
  out.push(...frontier.svg);
  const fixed = results.filter((r) => r.policy.startsWith("fixed")).sort((a, b) => a.idleGbMinutes - b.idleGbMinutes);
  if (fixed.length > 1) {
    out.push(`<polyline fill="none" stroke="#777" stroke-dasharray="4 3" points="${fixed.map((r) => `${frontier.px(r.idleGbMinutes).toFixed(1)},${frontier.py(r.coldPct).toFixed(1)}`).join(" ")}"/>`);
  }
  // The points first: a label covers neither another label nor a point.
  const placed: Box[] = results.map((r) => ({ x: frontier.px(r.idleGbMinutes) - 5, y: frontier.py(r.coldPct) - 5, w: 10, h: 10 }));
  results.forEach((r, i) => {
    const x = frontier.px(r.idleGbMinutes);
    const y = frontier.py(r.coldPct);
    const color = r.policy.startsWith("fixed") ? "#555" : colors[i % colors.length]!;
    out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${color}"/>`);
    const at = labelPlace(x, y, r.policy, left, placed);
    // A label pushed away from its point gets a thin line back to it.
    const nx = Math.min(Math.max(x, at.x), at.x + at.w);
    const ny = Math.min(Math.max(y, at.y), at.y + at.h);
    if (Math.hypot(nx - x, ny - y) > 12) out.push(`<line x1="${x.toFixed(1)}" y1="${y.toFixed(1)}" x2="${nx.toFixed(1)}" y2="${ny.toFixed(1)}" stroke="${color}" stroke-width="0.8"/>`);
    out.push(`<text x="${at.x.toFixed(1)}" y="${(at.y + at.h - 3).toFixed(1)}" fill="${color}">${escape(r.policy)}</text>`);
  });

  // Right: memory in use over the day.
  const minutes = Math.max(...results.map((r) => r.series.minute.at(-1) ?? 0), 1);
  const memMax = Math.max(...results.map((r) => Math.max(0, ...r.series.memoryGiB)), 0.01) * 1.15;
  const usage = axes(right, minutes / 60, memMax, "hour of the run", "memory held by instances, GiB");
  out.push(...usage.svg);
  results.forEach((r, i) => {
    const color = colors[i % colors.length]!;
    const points = r.series.minute.map((m, k) => `${usage.px(m / 60).toFixed(1)},${usage.py(r.series.memoryGiB[k]!).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${points}"/>`);
  });
  // The legend over the lines, on a white ground so that it stays readable.
  const legendWidth = Math.max(...results.map((r) => r.policy.length)) * charWidth + 12;
  out.push(`<rect x="${right.x + 4}" y="${right.y + 4}" width="${legendWidth}" height="${results.length * 14 + 6}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`);
  results.forEach((r, i) => {
    out.push(`<text x="${right.x + 10}" y="${right.y + 18 + 14 * i}" fill="${colors[i % colors.length]!}">${escape(r.policy)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}
