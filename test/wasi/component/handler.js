// A JavaScript HTTP handler built into a WebAssembly component (wasi:http/proxy) with
// @bytecodealliance/componentize-js in the component tests (test/support/wasi-build.ts).
// What it does is chosen by the request's path.
addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/echo") {
    const body = new Uint8Array(await request.arrayBuffer());
    let sum = 0;
    for (const b of body) sum = (sum + b) % 65521;
    return new Response(JSON.stringify({
      method: request.method,
      path: url.pathname,
      query: url.search,
      header: request.headers.get("x-test"),
      length: body.length,
      sum,
    }), { status: 201, headers: { "content-type": "application/json", "x-component": "js" } });
  }
  if (url.pathname === "/big") {
    // A large body, written in many chunks.
    const n = Number(url.searchParams.get("kib") ?? "1024");
    const chunk = new Uint8Array(1024).map((_, i) => i % 251);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < n; i++) controller.enqueue(chunk.slice());
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
  }
  if (url.pathname === "/time") {
    const random = crypto.getRandomValues(new Uint8Array(16));
    const before = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const slept = Date.now() - before;
    console.log(`slept ${slept} ms`);
    return Response.json({ now: before, slept, random: [...random] });
  }
  if (url.pathname === "/log") {
    console.log("a line to stdout");
    console.error("a line to stderr");
    return new Response("logged\n");
  }
  if (url.pathname === "/fetch") {
    // An outgoing request (wasi:http/outgoing-handler) to ?url=, with a body when ?body= is given.
    const target = url.searchParams.get("url");
    const body = url.searchParams.get("body");
    try {
      const res = await fetch(target, body === null ? {} : { method: "POST", body, headers: { "x-from": "component" } });
      return new Response(`fetched ${res.status} ${res.headers.get("x-server")} ${await res.text()}`);
    } catch (err) {
      return new Response(`fetch failed: ${err}\n`, { status: 503 });
    }
  }
  if (url.pathname === "/throw") throw new Error("thrown on purpose");
  if (url.pathname === "/loop") for (;;) {} // a hostile handler: never answers, never yields
  if (url.pathname === "/grow") {
    // A hostile handler: holds memory without end.
    const kept = [];
    for (;;) kept.push(new Uint8Array(1 << 20).fill(1));
  }
  return new Response(`no such path: ${url.pathname}\n`, { status: 404 });
}
