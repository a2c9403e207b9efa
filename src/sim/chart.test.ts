import assert from "node:assert/strict";
import test from "node:test";
import { renderChart } from "./chart.ts";
import type { SimResult } from "./simulate.ts";

/** A result with just what the chart reads. */
function result(policy: string, idleGbMinutes: number, coldPct: number): SimResult {
  return { policy, idleGbMinutes, coldPct, series: { minute: [0, 60], memoryGiB: [1, 2], instances: [], busy: [], memoryPct: [], hostsUsed: [] } } as unknown as SimResult;
}

/** The frontier's labels (the text after each point's circle) as boxes at about 7 px a character. */
function labels(svg: string): { text: string; x: number; y: number; w: number; h: number }[] {
  const out = [];
  for (const m of svg.matchAll(/<circle [^>]*\/>\n(?:<line [^>]*\/>\n)?<text x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]*)<\/text>/g)) {
    const text = m[3]!;
    out.push({ text, x: Number(m[1]), y: Number(m[2]) - 11, w: text.length * 7, h: 14 });
  }
  return out;
}

test("the frontier's labels do not cover one another when policies land close together", () => {
  // As on the Azure sample: hybrid-paper and fixed 30 min a hair apart, and fixed 20 min near.
  const svg = renderChart([
    result("fixed 5m", 6387, 2.395),
    result("fixed 10m", 7603, 1.381),
    result("fixed 20m", 8671, 0.576),
    result("fixed 30m", 9272, 0.395),
    result("fixed 60m", 10412, 0.232),
    result("hybrid-paper", 8821, 0.388),
    result("hybrid", 5014, 0.871),
    result("hybrid (cost 30m)", 9250, 0.40),
  ], "test");
  const boxes = labels(svg);
  assert.equal(boxes.length, 8, "a label per point");
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      assert.ok(!overlap, `"${a.text}" at (${a.x}, ${a.y}) covers "${b.text}" at (${b.x}, ${b.y})`);
    }
  }
});
