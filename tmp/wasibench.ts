import { measureWasiHello } from "../bench/wasi-hello.ts";
const r = await measureWasiHello({ connections: 64, threads: 2, durationS: Number(process.env.DUR ?? 5) }, Number(process.env.ROUNDS ?? 2), Number(process.env.N ?? 20));
console.log(JSON.stringify(r, null, 1));
