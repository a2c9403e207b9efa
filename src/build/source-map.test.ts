// SourceMap against maps esbuild writes: positions of known tokens map back to where they
// were written, and a stack's frames are rewritten while other text is left alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as esbuild from "esbuild";
import { SourceMap } from "./source-map.ts";

const source = `interface Shape { area(): number }
const shapes: Shape[] = [];

export function total(): number {
  let sum = 0;
  for (const s of shapes) sum += s.area();
  return sum;
}

export function fail(why: string): never {
        throw new RangeError(why);
}
`;

async function compiled(): Promise<{ code: string; map: SourceMap }> {
  const out = await esbuild.transform(source, { loader: "ts", sourcemap: "external", sourcefile: "src/shapes.ts", minify: true });
  return { code: out.code, map: new SourceMap(out.map) };
}

/** 1-based line and column of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, needle);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

test("tokens of minified output map back to their TypeScript lines and columns", async () => {
  const { code, map } = await compiled();
  const thrown = positionOf(code, "throw ");
  assert.deepEqual(map.original(thrown.line, thrown.column), { source: "src/shapes.ts", ...positionOf(source, "throw ") });
  const area = positionOf(code, ".area()");
  assert.equal(map.original(area.line, area.column + 1)?.line, positionOf(source, ".area()").line);
  assert.equal(map.original(999, 1), undefined, "a line past the end is not mapped");
});

test("mapStack rewrites the generated file's frames and nothing else", async () => {
  const { code, map } = await compiled();
  const thrown = positionOf(code, "throw ");
  const stack = `RangeError: no\n    at fail (t/f.js:${thrown.line}:${thrown.column})\n    at other (lib.js:1:1)\n    at t/f.js:999:1`;
  const expected = positionOf(source, "throw ");
  assert.equal(map.mapStack(stack, "t/f.js"), `RangeError: no\n    at fail (src/shapes.ts:${expected.line}:${expected.column})\n    at other (lib.js:1:1)\n    at t/f.js:999:1`);
});

test("a map that is not version 3, or has bad VLQ, is refused", () => {
  assert.throws(() => new SourceMap(`{"version":2,"sources":[],"mappings":""}`), /version 3/);
  assert.throws(() => new SourceMap(`{"version":3,"sources":["a"],"mappings":"A!AA"}`), /not base64/);
});
