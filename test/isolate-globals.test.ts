// What a function gets inside its isolate (issue: "Inside the isolate"), exercised by real code.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(
    node.admin,
    "globals",
    `export default {
      async fetch(request, env, ctx) {
        const results = {};
        const check = async (name, fn) => { try { results[name] = await fn(); } catch (e) { results[name] = "threw " + e; } };
        await check("request", async () => [request instanceof Request, request.method, await request.text()]);
        await check("response", async () => { const r = Response.json({ a: 1 }, { status: 201 }); return [r.status, r.headers.get("content-type"), await r.json()]; });
        await check("headers", () => { const h = new Headers([["B", "2"], ["a", "1"]]); h.append("a", "3"); return [...h]; });
        await check("url", () => { const u = new URL("../x?y=1#z", "https://example.com/a/b"); return [u.href, u.searchParams.get("y")]; });
        await check("idna", () => new URL("https://bücher.example/").hostname);
        await check("search-params", () => new URLSearchParams({ q: "a b", n: "é" }).toString());
        await check("text-codec", () => new TextDecoder().decode(new TextEncoder().encode("héllo ✓")));
        await check("uuid", () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
        await check("random", () => { const a = crypto.getRandomValues(new Uint8Array(32)); return a.some((b) => b !== 0) && a.length; });
        await check("random-quota", () => { try { crypto.getRandomValues(new Uint8Array(65537)); return "no error"; } catch (e) { return e.name; } });
        await check("timeout", () => new Promise((resolve) => { const t0 = Date.now(); setTimeout(() => resolve(Date.now() - t0 >= 15), 20); }));
        await check("clear-timeout", () => new Promise((resolve) => { const id = setTimeout(() => resolve("fired"), 5); clearTimeout(id); setTimeout(() => resolve("cleared"), 20); }));
        await check("microtask", () => new Promise((resolve) => queueMicrotask(() => resolve("ran"))));
        await check("env", () => [env.PLAIN, env.SECRET, Object.isFrozen(env)]);
        await check("ctx", () => [typeof ctx.waitUntil, typeof ctx.passThroughOnException]);
        await check("streams", async () => { const { readable, writable } = new TransformStream(); const w = writable.getWriter(); w.write(new TextEncoder().encode("streamed")); w.close(); return await new Response(readable).text(); });
        await check("form-data", async () => { const f = new FormData(); f.append("k", "v"); const r = new Response(f); return (await r.formData()).get("k"); });
        await check("blob", async () => await new Blob(["a", "b"]).text());
        await check("base64", () => atob(btoa("hi")));
        await check("abort", () => { const c = new AbortController(); const seen = []; c.signal.addEventListener("abort", (e) => seen.push(e.type)); c.abort("r"); return [c.signal.aborted, c.signal.reason, seen[0], AbortSignal.any([c.signal]).aborted]; });
        await check("abort-timeout", () => new Promise((resolve) => { const s = AbortSignal.timeout(10); s.onabort = () => resolve(s.reason.name); }));
        await check("global-events", () => { const seen = []; const onError = (e) => { seen.push(e.message); e.preventDefault(); }; addEventListener("error", onError); reportError(new TypeError("reported")); removeEventListener("error", onError); return [seen, globalThis instanceof EventTarget, typeof dispatchEvent]; });
        await check("custom-event", () => { const t = new EventTarget(); let d; t.addEventListener("x", (e) => { d = e.detail; }); t.dispatchEvent(new CustomEvent("x", { detail: 7 })); return d; });
        await check("request-signal", () => { const c = new AbortController(); const r = new Request("https://a.example/", { signal: c.signal }); c.abort(); return [request.signal.aborted, r.signal.aborted]; });
        await check("structured-clone", () => { const a = { d: new Date(5), m: new Map([[1, { x: 1 }]]) }; a.self = a; const b = structuredClone(a); return [b !== a, b.self === b, b.d.getTime(), b.m.get(1).x]; });
        await check("text-streams", async () => new Response(new Response("héllo").body.pipeThrough(new TextDecoderStream()).pipeThrough(new TextEncoderStream())).text());
        await check("message-channel", () => new Promise((resolve) => { const { port1, port2 } = new MessageChannel(); port2.onmessage = (e) => resolve([e.data, e instanceof MessageEvent]); port1.postMessage({ hi: 1 }); }));
        await check("url-pattern", () => new URLPattern({ pathname: "/users/:id" }).exec(new URL("/users/7", request.url).href).pathname.groups);
        await check("self", () => [self === globalThis, globalThis.self === self]);
        await check("host-hidden", () => ["__flickHost", "__flickDispatcher", "process", "require"].filter((k) => k in globalThis));
        await check("gc-hidden", () => typeof globalThis.gc);
        console.info("info line"); console.warn("warn line"); console.error("error line", { deep: { x: [1, 2] } });
        return Response.json(results);
      },
    };`,
    { env: { PLAIN: "plain-value" }, secrets: { SECRET: "secret-value" } },
  );
});
after(() => node.kill());

test("a function gets the Web APIs, timers, crypto randomness and env it was promised", async () => {
  const res = await fetch(`${node.url}/fn/globals`, { method: "POST", body: "payload" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    request: [true, "POST", "payload"],
    response: [201, "application/json", { a: 1 }],
    headers: [["a", "1, 3"], ["b", "2"]],
    url: ["https://example.com/x?y=1#z", "1"],
    idna: "xn--bcher-kva.example",
    "search-params": "q=a+b&n=%C3%A9",
    "text-codec": "héllo ✓",
    uuid: true,
    random: 32,
    "random-quota": "QuotaExceededError",
    timeout: true,
    "clear-timeout": "cleared",
    microtask: "ran",
    env: ["plain-value", "secret-value", true],
    ctx: ["function", "function"],
    streams: "streamed",
    "form-data": "v",
    blob: "ab",
    base64: "hi",
    abort: [true, "r", "abort", true],
    "abort-timeout": "TimeoutError",
    "global-events": [["TypeError: reported"], false, "function"],
    "custom-event": 7,
    "request-signal": [false, true],
    "structured-clone": [true, true, 5, 1],
    "text-streams": "héllo",
    "message-channel": [{ hi: 1 }, true],
    "url-pattern": { id: "7" },
    self: [true, true],
    "host-hidden": [],
    "gc-hidden": "undefined",
  });
});

test("console lines reach the function's logs with their level and invocation id", async () => {
  const res = await fetch(`${node.url}/fn/globals`);
  const id = res.headers.get("x-flick-invocation-id");
  await res.arrayBuffer();
  const lines = (await node.admin.readLogs("globals")).filter((l) => l.invocationId === id && l.request === undefined);
  assert.deepEqual(
    lines.map((l) => [l.level, l.message]),
    [["info", "info line"], ["warn", "warn line"], ["error", "error line { deep: { x: [ 1, 2 ] } }"]],
  );
});

test("timers cannot be set at module scope, as in Workers", async () => {
  await assert.rejects(
    deploySource(node.admin, "early-timer", `setTimeout(() => {}, 1); export default { fetch: () => new Response("x") };`),
    /setTimeout\(\) cannot be called at module scope/,
  );
});

test("console is a WebIDL namespace; labels are converted with ToString; performance is an EventTarget; timeouts wrap as a WebIDL long", async () => {
  await deploySource(
    node.admin,
    "details",
    `const early = crypto.subtle.digest("SHA-256", new Uint8Array(1)).then(() => "resolved", (e) => e.name + ": " + e.message);
    export default {
      async fetch() {
        const proto = Object.getPrototypeOf(console);
        const label = { toString: () => "converted" };
        console.count(label); console.count(label); console.countReset(label); console.count(label);
        console.countReset("never-counted");
        console.time(label); console.time(label);
        let threw = "no";
        try { console.time({ toString() { throw new Error("bad label"); } }); } catch (e) { threw = e.message; }
        const t0 = performance.now();
        const wrapped = await new Promise((resolve) => { setTimeout(() => resolve("2**32 fired first"), 2 ** 32); setTimeout(() => resolve("100 ms fired first"), 100); });
        return Response.json({
          tag: Object.prototype.toString.call(console),
          protoEmpty: Object.getOwnPropertyNames(proto).length === 0 && Object.getPrototypeOf(proto) === Object.prototype,
          enumerable: Object.getOwnPropertyDescriptor(console, "log").enumerable,
          lengths: [console.assert.length, console.dir.length],
          threw,
          performance: [performance instanceof EventTarget, typeof performance.addEventListener, t0 > 0, new Event("x").timeStamp > 0],
          isSecureContext,
          wrapped,
          early: await early,
        });
      },
    };`,
  );
  const res = await fetch(`${node.url}/fn/details`);
  const id = res.headers.get("x-flick-invocation-id");
  assert.deepEqual(await res.json(), {
    tag: "[object console]",
    protoEmpty: true,
    enumerable: true,
    lengths: [0, 0],
    threw: "bad label",
    performance: [true, "function", true, true],
    isSecureContext: true,
    wrapped: "2**32 fired first",
    early: "TypeError: Failed to execute 'digest' on 'SubtleCrypto': crypto.subtle works during a request; call it inside fetch() or another handler, not at module scope.",
  });
  const lines = (await node.admin.readLogs("details")).filter((l) => l.invocationId === id && l.request === undefined).map((l) => [l.level, l.message]);
  assert.deepEqual(lines, [
    ["info", "converted: 1"],
    ["info", "converted: 2"],
    ["info", "converted: 1"],
    ["warn", "Count for 'never-counted' does not exist"],
    ["warn", "Timer 'converted' already exists"],
  ]);
});
