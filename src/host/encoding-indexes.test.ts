// The host's side of the CJK indexes: the file read once and only when a table is asked
// for, each table handed over as a buffer of its own, and a real instance decoding with them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { readIndexes } from "../../test/support/encoding-reference.ts";
import { bundleRuntime } from "../build/index.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { createEncodingIndexes, encodingIndexes } from "./encoding-indexes.ts";
import { FairJobs } from "./fair-jobs.ts";
import { Instance, makeRuntimeSnapshot, type HostContext } from "./instance.ts";
import type { InstanceSpec, ResponseSink } from "./protocol.ts";

test("the file is read once, on the first table asked for, and never for a name that is not an index", () => {
  const indexes = createEncodingIndexes();
  assert.equal(indexes.table("utf-8"), null);
  assert.equal(indexes.table("__proto__"), null);
  assert.equal(indexes.table(42 as unknown as string), null);
  assert.equal(indexes.reads, 0);
  const gb18030 = indexes.table("gb18030")!;
  const big5 = indexes.table("big5")!;
  assert.equal(indexes.reads, 1);
  assert.equal(indexes.table("gb18030"), gb18030);
  assert.equal(indexes.reads, 1);
  // Each table in a buffer of its own: isolated-vm copies a view's whole buffer.
  for (const table of [gb18030, big5]) assert.equal(table.buffer.byteLength, table.byteLength);
  // The first four bytes count the pointers: 23,940 two-byte code points; Big5 adds a bit each.
  assert.equal(gb18030.byteLength, 4 + 23940 * 2);
  assert.equal(new DataView(gb18030.buffer).getUint32(0, true), 23940);
  assert.equal(big5.byteLength, 4 + 19782 * 2 + Math.ceil(19782 / 8));
});

test("the file holds the Encoding Standard's indexes, with GB18030-2022's changes", () => {
  const ix = readIndexes();
  assert.deepEqual(
    [ix.gb18030.length, ix.gb18030Ranges.length, ix.big5.length, ix.jis0208.length, ix.jis0212.length, ix.eucKr.length],
    [23940, 207, 19782, 11280, 8836, 23940],
  );
  // The first entry of each index-*.txt of the standard.
  assert.equal(ix.gb18030[0], 0x4e02);
  assert.deepEqual(ix.gb18030Ranges[0], [0, 0x80]);
  assert.deepEqual(ix.gb18030Ranges.at(-1), [189000, 0x10000]);
  assert.equal(ix.big5.findIndex((cp) => cp !== null), 942);
  assert.equal(ix.big5[942], 0x43f0);
  assert.equal(ix.jis0208[0], 0x3000);
  assert.equal(ix.jis0212.findIndex((cp) => cp !== null), 108);
  assert.equal(ix.jis0212[108], 0x02d8);
  assert.equal(ix.eucKr[0], 0xac02);
  // Big5's code points above U+FFFF (HKSCS), all in plane 2.
  assert.equal(ix.big5.filter((cp) => cp !== null && cp > 0xffff).length, 1713);
  assert.equal(ix.big5[(0x87 - 0x81) * 157 + 0x45 - 0x40], 0x27267);
  // GB18030-2022: 0xA6 0xD9 and 0xFE 0x59 left the private use area (whatwg/encoding#336).
  assert.equal(ix.gb18030[(0xa6 - 0x81) * 190 + 0xd9 - 0x41], 0xfe10);
  assert.equal(ix.gb18030[(0xfe - 0x81) * 190 + 0x59 - 0x40], 0x9fb4);
});

test("a file that is not an index file is refused with what to do about it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-indexes-"));
  try {
    const file = path.join(dir, "encoding-indexes.bin");
    writeFileSync(file, "not the index file at all");
    assert.throws(() => createEncodingIndexes(file).table("big5"), /regenerate it with scripts\/gen-encoding-indexes\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a function on a real instance decodes Big5, Shift_JIS and gb18030 with the host's tables", { timeout: 60_000 }, async () => {
  const source = await bundleRuntime();
  const snapshot = makeRuntimeSnapshot(source);
  // A taint is recorded and checked at the end, not thrown from isolated-vm's callback.
  const taints: string[] = [];
  const host: HostContext = { runtime: snapshot === undefined ? { source } : { source, snapshot }, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => void taints.push(reason) };
  const spec: InstanceSpec = { instance: "x#1", function: "t/cjk", tenant: "t", key: "t/cjk@v", versionId: "v", bundlePath: "", memoryMiB: 64, timeoutMs: 5000, cpuLimitMs: null, concurrency: 1, env: [], wasm: {} };
  const code = `export default { fetch() {
    const text = new TextDecoder("big5").decode(new Uint8Array([0xa4, 0xa4, 0x87, 0x45]))
      + new TextDecoder("shift_jis").decode(new Uint8Array([0x82, 0xb1]))
      + new TextDecoder("gb18030").decode(new Uint8Array([0xe3, 0x32, 0x9a, 0x35]));
    return new Response(text);
  } };`;
  const instance = await Instance.create(spec, code, host, { wasm: () => null });
  try {
    let body = "";
    const sink: ResponseSink = { head: (_s, _h, b) => void (body = new TextDecoder().decode(b ?? new Uint8Array())), chunk() {}, bodyCredit() {} };
    const end = await instance.invoke({ method: "GET", url: "http://fn.test/", headers: [], body: null }, sink);
    assert.equal(end.error, null);
    assert.equal(body, "中\u{27267}こ\u{10ffff}");
    assert.ok(encodingIndexes.reads <= 1, "the process read the file at most once");
  } finally {
    instance.dispose();
  }
  assert.deepEqual(taints, [], "no isolate failed to stop");
});
