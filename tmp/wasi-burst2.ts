import { bundleWasi } from "../src/wasi/index.ts";
import { buildHello } from "../bench/wasi-hello.ts";
import { startFlick, stopTarget } from "../bench/targets.ts";

const wasm = buildHello();
if (typeof wasm !== "string") throw new Error(wasm.missing);
const bundle = await bundleWasi(wasm);
const wasmB64 = Object.fromEntries(Object.entries(bundle.wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
const flick = await startFlick((process.env.ARGS ?? "").split(" ").filter(Boolean));
try {
  await flick.client.deploy("w", { code: bundle.code, wasm: wasmB64 });
  const url = `${flick.baseUrl}/fn/w`;
  console.log(await (await fetch(url)).text());
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all(Array.from({ length: Number(process.env.N ?? 32) }, async () => { const r = await fetch(url); return [r.status, await r.text()] as const; }));
    const bad = rs.filter(([s]) => s !== 200);
    console.log(`round ${round}: ${bad.length} bad`, bad.slice(0, 2).map(([s, t]) => `${s} ${t.slice(0, 400)}`));
  }
} finally {
  await stopTarget(flick);
}
