// Threat: whatever a function returns — any status, any header names and values, lying
// Headers iterators, any body type, a body stream that fails halfway — reaches the client
// as a valid HTTP response or a clean `502 function_error`, and never takes a worker host
// down. A seeded fuzzer drives one function through query parameters; the seed is printed
// and `FLICK_FUZZ_SEED=<n>` replays a run (`FLICK_FUZZ_REQUESTS` changes its length): the
// same requests, though which isolate runs which — and so how far a poisoned prototype
// reaches — depends on timing, so a replay may refuse a few other ones.
//
// Out of the generator's range on purpose: over 2,048 headers and single names or values
// over 64 KiB (response-head.test.ts covers those), and body streams whose pull waits on a
// timer (the last test here); here no answer may wait for a deadline.
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { assertNodeServes, hostPids, httpCall, type RawAnswer } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const seed = Number(process.env["FLICK_FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
const requests = Number(process.env["FLICK_FUZZ_REQUESTS"] ?? 3000);

let node: TestNode;
let pids: number[];

/** The function under fuzz: the query parameter `s` (base64url JSON) says what to return. */
const fuzzed = String.raw`
const enc = new TextEncoder();
const HP = Headers.prototype;
const originals = {};
for (const k of ["entries", "keys", "values", "forEach", "get", "has", "getSetCookie"]) originals[k] = HP[k];
originals.iterator = HP[Symbol.iterator];
function* lies() { yield ["x-lie name", "\u0001"]; yield ["x-flick-error", "timeout"]; yield ["content-length", "99999"]; }
function poison(h) { h[Symbol.iterator] = lies; h.entries = lies; h.keys = lies; h.values = lies; h.forEach = function (cb) { cb("\u0001", "x lie"); }; h.get = () => "\r\nx: y"; }
function restore() {
  for (const k of ["entries", "keys", "values", "forEach", "get", "has", "getSetCookie"]) HP[k] = originals[k];
  HP[Symbol.iterator] = originals.iterator;
}
function str(v) {
  if (typeof v === "string") return v;
  return String.fromCharCode(v[1]).repeat(v[2]);
}
function status(s) {
  if (s === "NaN") return NaN;
  if (s === "undefined") return undefined;
  return s;
}
function chunksOf(kind, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    if (kind === "strings") out.push("chunk" + i);
    else if (kind === "numbers") out.push(i);
    else if (kind === "objects") out.push({ i });
    else if (kind === "nulls") out.push(null);
    else out.push(enc.encode("c" + i + ";"));
  }
  return out;
}
function body(b) {
  switch (b.t) {
    case "string": return "s".repeat(b.n);
    case "bytes": return new Uint8Array(b.n).fill(98);
    case "arraybuffer": return new Uint8Array(b.n).fill(97).buffer;
    case "dataview": return new DataView(new Uint8Array(b.n).fill(100).buffer);
    case "big-stream": return new ReadableStream({ start(c) { for (let i = 0; i < b.n; i++) c.enqueue(new Uint8Array(64 * 1024).fill(120)); c.close(); } });
    case "stream": {
      const chunks = chunksOf(b.kind, b.n);
      return new ReadableStream({ async pull(c) {
        if (b.async) await null;
        if (chunks.length > 0) c.enqueue(chunks.shift());
        else if (b.fail) c.error(new Error("the body broke"));
        else c.close();
      } });
    }
    case "throwing-stream": return new ReadableStream({ pull() { throw new TypeError("pull threw"); } });
    case "async-iterable": return (async function* () { yield enc.encode("a"); yield "b"; })();
    case "from-async-iterable": return ReadableStream.from((async function* () { yield enc.encode("a"); yield enc.encode("b"); })());
    case "blob": return new Blob(["blob-", new Uint8Array(b.n).fill(99)], { type: "x/\u0001" });
    case "formdata": { const f = new FormData(); f.append("a", "1"); f.append("file", new Blob(["xyz"]), "name\r\n.txt"); return f; }
    case "params": return new URLSearchParams({ a: "1", b: "\u0001" });
    case "null": return null;
    case "undefined": return undefined;
    case "thenable": return { then(resolve) { resolve("x"); } };
    case "number": return 42;
    case "symbol": return Symbol("s");
    case "used-body": { const r = new Response("used"); r.text(); return r.body; }
  }
}
export default { async fetch(request) {
  restore();
  const spec = JSON.parse(atob(new URL(request.url).searchParams.get("s").replace(/-/g, "+").replace(/_/g, "/")));
  let headers;
  const pairs = spec.headers.map(([n, v]) => [str(n), str(v)]);
  if (spec.how === "object") headers = Object.fromEntries(pairs);
  else if (spec.how === "array") headers = pairs;
  else if (spec.how === "many") { headers = new Headers(); for (let i = 0; i < spec.count; i++) headers.append("x-many-" + i, "m"); }
  else headers = new Headers(pairs);
  if (spec.poison === "prototype") poison(HP);
  let res;
  if (spec.make === "error") res = Response.error();
  else if (spec.make === "redirect") res = Response.redirect("http://example.com/", status(spec.status));
  else if (spec.make === "json") res = Response.json({ id: spec.id }, { status: status(spec.status), headers });
  else if (spec.make === "no-init") res = new Response(body(spec.body));
  else res = new Response(body(spec.body), { status: status(spec.status), headers });
  if (spec.make !== "error" && spec.make !== "redirect") res.headers.set("x-fuzz-id", spec.id);
  if (spec.poison === "instance") poison(res.headers);
  switch (spec.ret) {
    case "promise": return Promise.resolve(res);
    case "thenable": return { then(resolve) { resolve(res); } };
    case "later": await new Promise((r) => setTimeout(r, 1)); return res;
    case "junk": return { status: 200, headers: {}, body: "not a Response" };
    case "throw": throw new Error("thrown on purpose");
    default: return res;
  }
} };`;

/** mulberry32: small, seedable, good enough to pick cases. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Str = string | ["rep", number, number];
interface Spec {
  id: string;
  make: "ctor" | "json" | "error" | "redirect" | "no-init";
  status: number | string | null;
  how: "object" | "array" | "headers" | "many";
  count: number;
  headers: [Str, Str][];
  poison: "none" | "instance" | "prototype";
  body: { t: string; n: number; kind?: string; fail?: boolean; async?: boolean };
  ret: "direct" | "promise" | "thenable" | "later" | "junk" | "throw";
}

function generate(random: () => number, id: string): { spec: Spec; method: string } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const statuses = [-1, 0, 99, 100, 101, 103, 199, 200, 201, 204, 205, 206, 299, 301, 302, 304, 308, 399, 400, 404, 418, 451, 499, 500, 502, 503, 504, 599, 600, 999, 1000, 65736, 1e9, 2.5, "NaN", "200", "404", " 201 ", "abc", "0x1f4", null, "undefined"] as const;
  const names: Str[] = ["x-a", "X-Mixed-Case", "set-cookie", "content-type", "content-length", "transfer-encoding", "connection", "x-flick-error", "x-flick-invocation-id", "x-flick-cold-start", "x\u0001y", "x\ry", "x\r\ny", "x y", "x:y", "", "x-\u00e9", "x-\u20ac", "\u{1F600}", ["rep", 120, 1 + Math.floor(random() * 8000)], "x-\u0000"];
  const values: Str[] = ["v", "", "  padded  ", "a\u0001b", "a\u007fb", "a\u0000b", "a\r\nb", "a\rb", "a\nb", "tab\there", "caf\u00e9", "\u20ac", "\ud800", "\u00ff\u0080", ["rep", 118, 1 + Math.floor(random() * 60 * 1024)], ["rep", 1, 3], ["rep", 0xe9, 5000]];
  const bodies: Spec["body"][] = [
    { t: "string", n: Math.floor(random() * 5000) },
    { t: "bytes", n: Math.floor(random() * 100_000) },
    { t: "arraybuffer", n: Math.floor(random() * 100) },
    { t: "dataview", n: Math.floor(random() * 100) },
    { t: "big-stream", n: 1 + Math.floor(random() * 8) },
    { t: "stream", kind: pick(["bytes", "bytes", "strings", "numbers", "objects", "nulls"]), n: Math.floor(random() * 5), fail: random() < 0.3, async: random() < 0.5 },
    { t: "throwing-stream", n: 0 },
    { t: "async-iterable", n: 0 },
    { t: "from-async-iterable", n: 0 },
    { t: "blob", n: Math.floor(random() * 1000) },
    { t: "formdata", n: 0 },
    { t: "params", n: 0 },
    { t: "null", n: 0 },
    { t: "undefined", n: 0 },
    { t: "thenable", n: 0 },
    { t: "number", n: 0 },
    { t: "symbol", n: 0 },
    { t: "used-body", n: 0 },
  ];
  const headerCount = random() < 0.1 ? 0 : 1 + Math.floor(random() * 4);
  const headers: [Str, Str][] = [];
  for (let i = 0; i < headerCount; i++) {
    // Mostly valid names and values, so that responses get through the constructor often.
    headers.push([random() < 0.85 ? `x-h${i}` : pick(names), random() < 0.8 ? "v" : pick(values)]);
  }
  const spec: Spec = {
    id,
    make: pick(["ctor", "ctor", "ctor", "ctor", "json", "error", "redirect", "no-init"] as const),
    status: random() < 0.5 ? 200 : pick(statuses),
    how: random() < 0.05 ? "many" : pick(["object", "array", "headers"] as const),
    count: pick([10, 500, 1024, 1025, 2000]),
    headers,
    poison: random() < 0.85 ? "none" : pick(["instance", "prototype"] as const),
    body: random() < 0.3 ? { t: "string", n: 10 } : pick(bodies),
    ret: random() < 0.7 ? "direct" : pick(["promise", "thenable", "later", "junk", "throw"] as const),
  };
  return { spec, method: pick(["GET", "GET", "GET", "POST", "HEAD"]) };
}

before(async () => {
  node = await startTestNode({ hosts: 2 });
  await deploySource(node.admin, "fuzzed", fuzzed, { timeoutMs: 60_000 });
  await deploySource(node.admin, "hello", `export default { fetch: () => new Response("hello world") };`);
  pids = hostPids(node);
  assert.equal(pids.length, 2);
});
after(() => node.kill());

/** Why an answer is not acceptable, or null. The body may be cut only for a body stream. */
function problem(answer: RawAnswer, spec: Spec, method: string): string | null {
  if (answer.status < 200 || answer.status > 599) return `status ${answer.status}`;
  const ids = answer.rawHeaders.filter((_, i) => i % 2 === 0 && answer.rawHeaders[i]!.toLowerCase() === "x-flick-invocation-id");
  if (ids.length !== 1) return `${ids.length} x-flick-invocation-id headers`;
  const platformError = answer.headers["x-flick-error"];
  if (platformError !== undefined) {
    if (answer.status !== 502 || platformError !== "function_error") return `a platform error other than 502 function_error: ${answer.status} ${String(platformError)}`;
    if (method === "HEAD") return null;
    const parsed = JSON.parse(answer.body.toString()) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code !== "function_error" || typeof parsed.error.message !== "string") return `502 body ${answer.body.toString().slice(0, 200)}`;
    return null;
  }
  // The function's own answer: its id, its status.
  if (answer.headers["x-fuzz-id"] !== spec.id && spec.make !== "redirect") return `x-fuzz-id ${String(answer.headers["x-fuzz-id"])} is not ${spec.id}`;
  const platformHeaders = ["x-flick-invocation-id", "x-flick-cold-start", "x-flick-version"];
  const leaked = Object.keys(answer.headers).filter((h) => h.startsWith("x-flick-") && !platformHeaders.includes(h));
  if (leaked.length > 0) return `the function set platform headers ${leaked.join(", ")}`;
  const given = spec.status === "undefined" || spec.make === "no-init" ? 200 : Number(spec.status) % 65536;
  if (spec.make !== "redirect" && answer.status !== given) return `status ${answer.status}, the function made ${String(spec.status)}`;
  if (answer.cut && !(spec.body.t === "stream" || spec.body.t === "throwing-stream" || spec.body.t === "async-iterable")) return "the body was cut";
  if (!answer.cut && method !== "HEAD" && spec.make === "ctor" && spec.body.t === "string" && answer.status !== 204 && answer.status !== 205 && answer.status !== 304) {
    if (answer.body.toString() !== "s".repeat(spec.body.n)) return `body of ${answer.body.length} bytes, not the ${spec.body.n} sent`;
  }
  return null;
}

test(`${requests} fuzzed responses are valid HTTP or a clean 502, and the node survives them (seed ${seed})`, { timeout: 600_000 }, async (t) => {
  t.diagnostic(`fuzz seed ${seed} (replay: FLICK_FUZZ_SEED=${seed})`);
  const random = prng(seed);
  const cases = Array.from({ length: requests }, (_, i) => generate(random, `r${i}`));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const tally = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const { spec, method } = cases[i]!;
      const s = Buffer.from(JSON.stringify(spec)).toString("base64url");
      let answer: RawAnswer;
      try {
        answer = await httpCall(`${node.url}/fn/fuzzed?s=${s}`, { method, agent, maxHeaderSize: 4 << 20 });
      } catch (err) {
        assert.fail(`seed ${seed}, request ${i} (${method} ${JSON.stringify(spec)}): no HTTP answer: ${String(err)}`);
      }
      const why = problem(answer, spec, method);
      if (why !== null) assert.fail(`seed ${seed}, request ${i} (${method} ${JSON.stringify(spec).slice(0, 2000)}): ${why}`);
      const kind = answer.headers["x-flick-error"] === undefined ? (answer.cut ? "cut" : String(answer.status)) : "502 function_error";
      tally.set(kind, (tally.get(kind) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...tally].sort((a, b) => b[1] - a[1])))}`);
  // The generator reaches both sides: answers that got through and ones that were refused.
  assert.ok((tally.get("200") ?? 0) > requests / 10, "many answers are the function's own");
  assert.ok((tally.get("502 function_error") ?? 0) > requests / 10, "many answers are refused cleanly");
  const timedOut = (await node.admin.readLogs("fuzzed", { limit: 10_000 })).filter((l) => /did not respond within/.test(l.message));
  assert.deepEqual(timedOut.map((l) => l.invocationId), [], `seed ${seed}: answers that waited for the function's deadline`);
  await assertNodeServes(node, pids, "hello", "hello world");
  assert.doesNotMatch(node.output(), /died|restarting|ERR_HTTP_INVALID|ERR_INVALID_CHAR|internal error/i, node.output().slice(-3000));
});

test(
  "a body stream whose pull waits on a timer ends, with 8 requests at once on one instance",
  async () => {
    await deploySource(node.admin, "timed-stream", `export default { fetch() {
      return new Response(new ReadableStream({ async pull(c) { await new Promise((r) => setTimeout(r, 5)); c.close(); } }));
    } };`, { timeoutMs: 2000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let cut = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 300; i++) if ((await httpCall(`${node.url}/fn/timed-stream`, { agent })).cut) cut++;
    }));
    agent.destroy();
    const timedOut = (await node.admin.readLogs("timed-stream", { limit: 10_000 })).filter((l) => /did not respond within/.test(l.message));
    assert.equal(timedOut.length, 0, `${timedOut.length} of 2400 bodies waited for the deadline (${cut} cut)`);
  },
);
