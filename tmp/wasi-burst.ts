import { bundleWasi } from "../src/wasi/index.ts";
import { buildHello } from "../bench/wasi-hello.ts";
import { startFlick, stopTarget } from "../bench/targets.ts";
import { loadTest } from "../bench/wrk.ts";

const wasm = buildHello();
if (typeof wasm !== "string") throw new Error(wasm.missing);
const bundle = await bundleWasi(wasm);
const wasmB64 = Object.fromEntries(Object.entries(bundle.wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
const flick = await startFlick((process.env.ARGS ?? "").split(" ").filter(Boolean));
try {
  await flick.client.deploy("w", { code: bundle.code, wasm: wasmB64 });
  const url = `${flick.baseUrl}/fn/w`;
  console.log(await (await fetch(url)).text());
  for (const c of [1, 8, 16, 64]) {
    const r = await loadTest(url, { connections: c, threads: 1, durationS: Number(process.env.DUR ?? 3) });
    console.log(`c=${c}: ${r.requestsPerSec.toFixed(0)} req/s, errors ${r.errors}`);
  }
  const res = await fetch(url); console.log(res.status, (await res.text()).slice(0, 300));
} finally {
  await stopTarget(flick);
}
