// Threat: forging the platform's own `x-flick-*` headers, both ways. A client sends
// `x-flick-invocation-id`, `x-flick-relay-from` (what a host's relay to the primary
// carries), `x-flick-error`… hoping the function, or the platform, takes them for its own;
// a function puts `x-flick-error: timeout` or an invocation id in its response hoping the
// client does. The guarantee: the function never sees a client's reserved header, and the
// client gets the platform's values (or none: no `x-flick-error` on a function's answer).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { httpCall } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const forged: Record<string, string> = {
  "x-flick-invocation-id": "forged",
  "x-flick-relay-from": "1",
  "x-flick-error": "x",
  "x-flick-cold-start": "1",
  "x-flick-parent-invocation-id": "forged-parent",
  "x-flick-attempt": "7",
  "X-Flick-Tenant": "other",
  "x-custom": "kept",
};

const echo = `export default { fetch(request) {
  const q = new URL(request.url).searchParams;
  const headers = new Headers({ "content-type": "application/json" });
  for (const name of ["x-flick-error", "x-flick-invocation-id", "x-flick-cold-start", "x-flick-relay-from", "X-Flick-Error", "x-flick-exit-code", "x-flick-version"]) {
    if (q.has(name)) headers.append(name, q.get(name));
  }
  return new Response(JSON.stringify([...request.headers]), { status: Number(q.get("status") ?? 200), headers });
} };`;

before(async () => {
  node = await startTestNode({ hosts: 2 });
  await deploySource(node.admin, "echo", echo);
  await deploySource(node.admin, "private-echo", echo, { private: true });
});
after(() => node.kill());

/** Raw header names as received, lowercased, and the values of one of them. */
function valuesOf(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

test("a client's x-flick-* headers never reach the function, whatever their case", async () => {
  // Several connections, so both hosts are asked.
  for (let i = 0; i < 6; i++) {
    const answer = await httpCall(`${node.url}/fn/echo/path?i=${i}`, { headers: forged });
    assert.equal(answer.status, 200, answer.body.toString());
    const seen = JSON.parse(answer.body.toString()) as [string, string][];
    assert.deepEqual(seen.filter(([name]) => name.startsWith("x-flick-")), [], "no reserved header reaches the function");
    assert.ok(seen.some(([name, value]) => name === "x-custom" && value === "kept"), "other headers do");
    const ids = valuesOf(answer.rawHeaders, "x-flick-invocation-id");
    assert.equal(ids.length, 1);
    assert.match(ids[0]!, uuid, "the platform's invocation id, not the client's");
    assert.equal(answer.headers["x-flick-error"], undefined, "a 200 carries no x-flick-error");
  }
});

test("x-flick-relay-from from a client does not pass for a relay: a private function still asks for a token", async () => {
  for (const relay of ["0", "1", "01"]) {
    const answer = await httpCall(`${node.url}/fn/private-echo`, { headers: { "x-flick-relay-from": relay, "x-flick-invocation-id": "forged" } });
    assert.equal(answer.status, 401, answer.body.toString());
    assert.equal(answer.headers["x-flick-error"], "unauthorized");
    assert.notEqual(answer.headers["x-flick-invocation-id"], "forged");
  }
  // The same headers on a path the host passes through to the primary's socket.
  const api = await httpCall(`${node.url}/api/v1/functions`, { headers: { "x-flick-relay-from": "0" } });
  assert.equal(api.status, 401, "the admin API still wants a token");
  const ok = await httpCall(`${node.url}/fn/private-echo`, { headers: { authorization: `Bearer ${node.adminToken}`, "x-flick-relay-from": "1" } });
  assert.equal(ok.status, 200);
  assert.deepEqual((JSON.parse(ok.body.toString()) as [string, string][]).filter(([name]) => name.startsWith("x-flick-") || name === "authorization"), []);
});

test("a function's own x-flick-error, x-flick-invocation-id and x-flick-cold-start are not what the client gets", async () => {
  for (const status of [200, 502, 504]) {
    const query = `status=${status}&x-flick-error=timeout&x-flick-invocation-id=fake&x-flick-cold-start=7&X-Flick-Error=function_error&x-flick-relay-from=0&x-flick-exit-code=3&x-flick-version=forged`;
    const answer = await httpCall(`${node.url}/fn/echo?${query}`);
    assert.equal(answer.status, status, "the function's own status");
    assert.deepEqual(valuesOf(answer.rawHeaders, "x-flick-error"), [], `status ${status}: a function's answer never carries x-flick-error, so it cannot pass for the platform's`);
    const ids = valuesOf(answer.rawHeaders, "x-flick-invocation-id");
    assert.equal(ids.length, 1, `one invocation id, not the function's as well: ${ids.join(" | ")}`);
    assert.match(ids[0]!, uuid);
    assert.deepEqual(valuesOf(answer.rawHeaders, "x-flick-cold-start").filter((v) => v !== "0" && v !== "1"), []);
    assert.equal(valuesOf(answer.rawHeaders, "x-flick-cold-start").length, 1);
    assert.deepEqual(valuesOf(answer.rawHeaders, "x-flick-relay-from"), []);
    // The one exception: an exit code is the function's report of itself (WASI programs send it).
    assert.deepEqual(valuesOf(answer.rawHeaders, "x-flick-exit-code"), ["3"]);
    assert.deepEqual(valuesOf(answer.rawHeaders, "x-flick-version").filter((v) => v === "forged"), [], "x-flick-exit-code is let through alone");
    // The body is the function's (its echo), not a platform error.
    assert.ok(Array.isArray(JSON.parse(answer.body.toString())));
  }
});
