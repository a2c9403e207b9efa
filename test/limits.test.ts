// Limits and bad input: each failure is the platform error contract, and the node keeps serving.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { bundleFunction } from "../src/build/index.ts";
import { after, before, test } from "node:test";
import { FlickError } from "../src/errors/index.ts";
import { limits } from "../src/model/index.ts";
import { bundleSource, deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
const timeoutMs = 500;

async function expectError(res: Response, status: number, code: string): Promise<{ code: string; message: string }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("x-flick-error"), code);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 10, "the message says what happened");
  return body.error;
}

async function rejects(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof FlickError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

before(async () => {
  node = await startTestNode();
  await deploySource(node.admin, "hello", `export default { fetch: () => new Response("hi") };`);
  await deploySource(
    node.admin,
    "thrower",
    `export default { async fetch() { console.log("about to throw"); throw new TypeError("kaboom in handler"); } };`,
  );
  await deploySource(
    node.admin,
    "hog",
    `const kept = [];
     export default { async fetch(request) {
       const kind = new URL(request.url).searchParams.get("kind");
       if (kind === "objects") for (;;) kept.push({ a: Math.random(), b: [1, 2, 3], c: "x".repeat(64) + Math.random() });
       if (kind === "buffers") for (;;) kept.push(new Uint8Array(1 << 20).fill(1));
       return new Response("fine");
     } };`,
    { memoryMiB: 32 },
  );
  await deploySource(
    node.admin,
    "spin",
    `let served = 0;
     export default { async fetch(request) {
       served++;
       const how = new URL(request.url).pathname;
       if (how === "/sync") while (true) {}
       if (how === "/after-microtask") { await null; while (true) {} }
       if (how === "/after-timer") { await new Promise((r) => setTimeout(r, 20)); while (true) {} }
       if (how === "/never") return new Promise(() => {});
       return new Response(String(served));
     } };`,
    { timeoutMs },
  );
  // One instance node-wide (requests that reach the other host are relayed to it), so
  // "a fresh isolate" is the only one there is.
  await node.admin.scale("spin", { maxInstances: 1 });
  await deploySource(
    node.admin,
    "swallow",
    `export default { fetch: async (request) => { let n = 0; for await (const c of request.body) n += c.length; return new Response(String(n)); } };`,
  );
  await deploySource(node.admin, "counter", `let n = 0; export default { fetch: () => { console.log("ran"); return new Response(String(++n)); } };`);
});
after(() => node.kill());

test("a function that throws answers 502 function_error and its logs get the message and stack", async () => {
  const res = await fetch(`${node.url}/fn/thrower`);
  const invocation = res.headers.get("x-flick-invocation-id");
  const error = await expectError(res, 502, "function_error");
  // An anonymous caller learns that it threw, not what: the text is the tenant's to read.
  assert.equal(error.message, `function "thrower" threw an exception; its message and stack are in the function's logs (invocation ${invocation})`);
  assert.doesNotMatch(JSON.stringify(error), /kaboom/);
  const lines = (await node.admin.readLogs("thrower")).filter((l) => l.invocationId === invocation && l.request === undefined);
  assert.deepEqual(lines.map((l) => l.level), ["log", "error"]);
  assert.match(lines[1]!.message, /TypeError: kaboom in handler\n\s+at Object\.fetch \(default\/thrower\.js:\d+:\d+\)/);
});

test("a caller with the tenant's token gets the exception text of a private function", async () => {
  const source = `export default { fetch() { throw new TypeError("kaboom, privately"); } };`;
  await deploySource(node.admin, "private-thrower", source, { private: true });
  const res = await fetch(`${node.url}/fn/private-thrower`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  const error = await expectError(res, 502, "function_error");
  assert.match(error.message, /private-thrower threw: TypeError: kaboom, privately/);
});

for (const kind of ["objects", "buffers"]) {
  test(`unbounded allocation (${kind}) answers 502 memory_limit while the node and other functions keep serving`, async () => {
    const during = Promise.all(Array.from({ length: 5 }, () => fetch(`${node.url}/fn/hello`).then((r) => r.text())));
    const res = await fetch(`${node.url}/fn/hog?kind=${kind}`);
    await expectError(res, 502, "memory_limit");
    assert.deepEqual(await during, ["hi", "hi", "hi", "hi", "hi"]);
    const afterwards = await fetch(`${node.url}/fn/hello`);
    assert.equal(await afterwards.text(), "hi");
    const same = await fetch(`${node.url}/fn/hog`);
    assert.equal(await same.text(), "fine", "the function itself serves again, from a fresh isolate");
  });
}

for (const how of ["sync", "after-microtask", "after-timer", "never"]) {
  test(`a request that never finishes (${how}) answers 504 timeout within the limit + 100 ms, then a fresh isolate serves`, async () => {
    // The best of three attempts, so a busy CI machine does not fake a late answer.
    let best = Infinity;
    for (let attempt = 0; attempt < 3 && best >= timeoutMs + 100; attempt++) {
      const started = performance.now();
      const res = await fetch(`${node.url}/fn/spin/${how}`);
      best = Math.min(best, performance.now() - started);
      await expectError(res, 504, "timeout");
    }
    assert.ok(best >= timeoutMs - 5, `answered after ${best} ms, before the limit`);
    assert.ok(best < timeoutMs + 100, `answered after ${best.toFixed(0)} ms; the limit is ${timeoutMs} ms + 100`);
    const next = await fetch(`${node.url}/fn/spin/ok`);
    assert.equal(next.status, 200);
    if (how !== "never") {
      assert.equal(next.headers.get("x-flick-cold-start"), "1");
      assert.equal(await next.text(), "1", "module state starts over: a new isolate");
    }
  });
}

test("an unknown function is 404 function_not_found", async () => {
  await expectError(await fetch(`${node.url}/fn/does-not-exist/x`), 404, "function_not_found");
});

test("a declared body over the limit is 413 before the function runs", async () => {
  const before = (await node.admin.readLogs("counter")).length;
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${node.url}/fn/counter`, { method: "POST", headers: { "content-length": String(limits.requestBodyMaxBytes + 1) } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on("error", reject);
    req.write("a few bytes, far from the declared length");
  });
  assert.equal(status, 413);
  assert.equal((await node.admin.readLogs("counter")).length, before, "the function did not run");
});

test("a chunked body that grows over the limit while the function reads it is 413", async () => {
  const chunk = new Uint8Array(1024 * 1024);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > limits.requestBodyMaxBytes + chunk.length) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${node.url}/fn/swallow`, { method: "POST", body, duplex: "half" } as RequestInit).catch((err: unknown) => err);
  if (res instanceof Response) await expectError(res, 413, "payload_too_large");
  else assert.ok(res instanceof Error, "the server may also cut the upload off once it answered");
});

test("deploying a syntax error is 400 invalid_bundle naming file:line, and nothing is stored", async () => {
  await rejects(node.admin.deploy("broken", { code: "export default {\n  fetch() { return new Response( }\n};" }), "invalid_bundle", /broken\.js:2:\d+/);
  await rejects(node.admin.getFunction("broken"), "function_not_found", /broken/);
});

test("deploying a module without a fetch handler is 400 missing_fetch_handler", async () => {
  await rejects(node.admin.deploy("nofetch", { code: await bundleSource("export default { hello() {} };") }), "missing_fetch_handler", /no fetch method/);
  await rejects(node.admin.deploy("nodefault", { code: "export const x = 1;" }), "missing_fetch_handler", /no default export/);
  assert.equal((await node.admin.listFunctions()).some((f) => f.name === "nofetch" || f.name === "nodefault"), false);
});

test("an import the bundle does not contain is 400 invalid_bundle", async () => {
  await rejects(node.admin.deploy("imports", { code: `import x from "left-pad"; export default { fetch: () => new Response(x) };` }), "invalid_bundle", /left-pad/);
});

test("invalid names and out-of-range settings are 400 naming the field", async () => {
  const code = `export default { fetch: () => new Response("x") };`;
  await rejects(node.admin.deploy("Bad_Name", { code }), "validation_failed", /function name/);
  await rejects(node.admin.deploy("ok-name", { code, memoryMiB: 4096 }), "validation_failed", /memoryMiB/);
  await rejects(node.admin.deploy("ok-name", { code, timeoutMs: 5 }), "validation_failed", /timeoutMs/);
  await rejects(node.admin.deploy("ok-name", { code, env: { "1BAD": "x" } }), "validation_failed", /env\.1BAD/);
  await rejects(node.admin.deploy("ok-name", { code, env: { A: "x" }, secrets: { A: "y" } }), "validation_failed", /"A"/);
  await rejects(node.admin.getFunction("ok-name"), "function_not_found", /ok-name/);
});

test("malformed API JSON is 400 naming what is wrong", async () => {
  const put = (body: string) =>
    fetch(`${node.url}/api/v1/functions/x`, { method: "PUT", headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" }, body });
  const notJson = await expectError(await put("{ code: nope"), 400, "invalid_json");
  assert.match(notJson.message, /not valid JSON/);
  const wrongType = await expectError(await put(JSON.stringify({ code: 42 })), 400, "validation_failed");
  assert.match(wrongType.message, /code:/);
  const unknown = await expectError(await put(JSON.stringify({ code: "x", memory: 5 })), 400, "validation_failed");
  assert.match(unknown.message, /memory/);
});

test("a gzip-encoded API body is read; one that inflates past the limit is 413, one that is not gzip is 400, another encoding is 400", async () => {
  const put = (body: Uint8Array, encoding: string) =>
    fetch(`${node.url}/api/v1/functions/gz`, { method: "PUT", headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json", "content-encoding": encoding }, body });
  const code = await bundleSource(`export default { fetch: () => new Response("from a gzipped deploy") };`);
  const ok = await put(new Uint8Array(gzipSync(JSON.stringify({ code }))), "gzip");
  assert.equal(ok.status, 201, await ok.clone().text());
  assert.equal(await (await fetch(`${node.url}/fn/gz`)).text(), "from a gzipped deploy");
  // A bomb: 200 KB on the wire, 200 MiB inflated.
  const bomb = new Uint8Array(gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20), { level: 9 }));
  assert.ok(bomb.length < limits.apiBodyMaxBytes);
  assert.match((await expectError(await put(bomb, "gzip"), 413, "payload_too_large")).message, /inflates past the API limit/);
  assert.match((await expectError(await put(new TextEncoder().encode("{}"), "gzip"), 400, "bad_request")).message, /not valid gzip/);
  assert.match((await expectError(await put(new TextEncoder().encode("{}"), "br"), 400, "bad_request")).message, /content-encoding "br" is not accepted/);
});

test("the bundle limit is on its gzipped size: 12 MiB that compress are deployed, 11 MiB that do not are 400, and past 64 MiB plain is 400", async () => {
  const source = `import mod from "./m.wasm"; export default { fetch: () => new Response(String(WebAssembly.Module.exports(mod).length)) };`;
  // A module with a custom section of the given bytes: valid Wasm of any size.
  const moduleWith = (payload: Uint8Array): Uint8Array => {
    const name = [4, ...new TextEncoder().encode("data")];
    const content = [...name, ...payload];
    const leb = (n: number) => { const out: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
    const head = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, ...leb(name.length + payload.length)];
    const out = new Uint8Array(head.length + content.length);
    out.set(head);
    out.set(name, head.length);
    out.set(payload, head.length + name.length);
    return out;
  };
  const deployWith = async (payload: Uint8Array) => {
    const dir = tempDir("flick-big-bundle-");
    writeFileSync(path.join(dir, "index.ts"), source);
    writeFileSync(path.join(dir, "m.wasm"), moduleWith(payload));
    const bundle = await bundleFunction(path.join(dir, "index.ts"));
    const wasm = Object.fromEntries(Object.entries(bundle.wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
    return node.admin.deploy("big", { code: bundle.code, wasm });
  };
  await deployWith(new Uint8Array(12 * 1024 * 1024));
  assert.equal(await (await fetch(`${node.url}/fn/big`)).text(), "0");
  await rejects(deployWith(randomBytes(11 * 1024 * 1024)), "validation_failed", /bytes gzipped .* over the 10485760-byte limit/);
  await rejects(deployWith(new Uint8Array(65 * 1024 * 1024)), "validation_failed", /over the 67108864-byte limit before compression/);
});

test("a killed worker host is replaced and its functions serve again", async () => {
  assert.equal(await (await fetch(`${node.url}/fn/counter`)).status, 200);
  const pids = await (await fetch(`${node.url}/readyz`)).json() as { hosts: number };
  assert.equal(pids.hosts, 2);
  // The node's hosts are its child processes; kill them all.
  const { execFileSync } = await import("node:child_process");
  const children = execFileSync("pgrep", ["-P", String(node.process.pid)], { encoding: "utf8" }).trim().split("\n").map(Number);
  for (const pid of children) process.kill(pid, "SIGKILL");
  // The hosts own the node's port: while all of them restart, connections are refused.
  let res: Response | undefined;
  for (let i = 0; i < 100; i++) {
    res = await fetch(`${node.url}/fn/counter`).catch(() => undefined);
    if (res?.status === 200) break;
    await res?.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(res!.status, 200);
  assert.equal(await res!.text(), "1", "a fresh instance on a new host");
});
