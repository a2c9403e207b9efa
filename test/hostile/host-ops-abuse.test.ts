// Threat: abusing the host ops through the Web APIs built on them — giant, deep, cyclic or
// odd arguments, throwing non-Errors, unhandled rejections. The guest gets an error; the
// host process never crashes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;

const hostile = `
const cyclic = { name: "loop" }; cyclic.self = cyclic;
const deep = {}; let cursor = deep; for (let i = 0; i < 100000; i++) { cursor.next = {}; cursor = cursor.next; }
const cases = {
  "giant log line": () => { console.log("x".repeat(20 * 1024 * 1024)); return "logged"; },
  "cyclic log": () => { console.log(cyclic); return "logged"; },
  "deep log": () => { console.log(deep); return "logged"; },
  "getter that throws": () => { console.log({ get boom() { throw new Error("getter"); } }); return "logged"; },
  "proxy that throws": () => { console.log(new Proxy({}, { ownKeys() { throw new Error("trap"); }, get() { throw new Error("trap"); } })); return "logged"; },
  "random quota": () => crypto.getRandomValues(new Uint8Array(1 << 20)),
  "random of floats": () => crypto.getRandomValues(new Float64Array(4)),
  "random of non-view": () => crypto.getRandomValues({ length: 4 }),
  "timer with a giant delay": () => { clearTimeout(setTimeout(() => {}, 1e300)); return "ok"; },
  "deep recursion": () => { const f = (n) => f(n + 1) + 1; return f(0); },
  "giant crypto input": () => crypto.subtle.digest("SHA-256", new Uint8Array(65 * 1024 * 1024)).then(() => "ALLOWED", (e) => e.name + ": " + e.message),
  "huge header": () => new Response("x", { headers: { "x-big": "y".repeat(1 << 20) } }).headers.get("x-big").length,
};
export default { async fetch(request) {
  const which = new URL(request.url).searchParams.get("case");
  if (which === "throw-string") throw "a string";
  if (which === "throw-null") throw null;
  if (which === "throw-object") throw { toString() { throw new Error("nested"); } };
  if (which === "reject-unhandled") { Promise.reject(new Error("nobody listens")); return new Response("still answered"); }
  if (which === "return-junk") return { status: 200, body: "not a Response" };
  if (which === "return-cyclic") return cyclic;
  const results = {};
  for (const [name, run] of Object.entries(cases)) {
    try { let v = run(); if (v instanceof Promise) v = await v; results[name] = typeof v === "string" && v.includes(":") ? v : "ok: " + (v && v.length !== undefined ? v.length : v); }
    catch (e) { results[name] = (e && e.name) + ": " + String(e && e.message).slice(0, 120); }
  }
  return Response.json(results);
} };`;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("hostile", { code: hostile, memoryMiB: 256 });
  await node.admin.deploy("bystander", { code: `export default { fetch: () => new Response("fine") };` });
});
after(() => node.kill());

async function hostPids(): Promise<number[]> {
  const { execFileSync } = await import("node:child_process");
  return execFileSync("pgrep", ["-P", String(node.process.pid)], { encoding: "utf8" }).trim().split("\n").map(Number);
}

test("odd arguments to the APIs over host ops give the guest errors or cut output, never a host crash", async () => {
  const pids = await hostPids();
  const res = await fetch(`${node.url}/fn/hostile`);
  assert.equal(res.status, 200, await res.clone().text());
  const r = (await res.json()) as Record<string, string>;
  assert.equal(r["giant log line"], "ok: 6");
  assert.equal(r["cyclic log"], "ok: 6");
  assert.equal(r["deep log"], "ok: 6");
  assert.match(r["random quota"]!, /^QuotaExceededError/);
  assert.match(r["random of floats"]!, /^TypeMismatchError/);
  assert.match(r["random of non-view"]!, /^TypeMismatchError/);
  assert.equal(r["timer with a giant delay"], "ok: 2");
  assert.match(r["deep recursion"]!, /^RangeError: Maximum call stack size exceeded/);
  assert.match(r["giant crypto input"]!, /^OperationError: .*at most 64 MiB per crypto\.subtle call/, "refused in the guest, before any copy to the host");
  const lines = await node.admin.readLogs("hostile");
  assert.ok(lines.every((l) => l.message.length <= 17 * 1024), "log lines are cut at 16 KiB");
  assert.ok(lines.some((l) => l.message.includes("[line cut at")));
  assert.ok(lines.some((l) => l.message.includes("<ref *1>") || l.message.includes("[Circular")), "cycles are printed, not followed");
  assert.deepEqual(await hostPids(), pids, "the host process is the same one");
});

test("throwing non-Errors, returning junk and unhandled rejections are function errors, nothing worse", async () => {
  const pids = await hostPids();
  for (const c of ["throw-string", "throw-null", "throw-object", "return-junk", "return-cyclic"]) {
    const res = await fetch(`${node.url}/fn/hostile?case=${c}`);
    assert.equal(res.status, 502, c);
    assert.equal(res.headers.get("x-flick-error"), "function_error", c);
  }
  // The caller learns that it threw; the function's logs have what.
  const answer = await fetch(`${node.url}/fn/hostile?case=throw-string`);
  const string = await answer.json() as { error: { message: string } };
  assert.match(string.error.message, /^function "hostile" threw an exception; its message and stack are in the function's logs/);
  const invocation = answer.headers.get("x-flick-invocation-id");
  assert.ok((await node.admin.readLogs("hostile")).some((l) => l.invocationId === invocation && /Uncaught "a string"/.test(l.message)));
  const unhandled = await fetch(`${node.url}/fn/hostile?case=reject-unhandled`);
  assert.equal(await unhandled.text(), "still answered");
  assert.equal(await (await fetch(`${node.url}/fn/bystander`)).text(), "fine");
  assert.deepEqual(await hostPids(), pids, "the host process is the same one");
});
