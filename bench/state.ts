/**
 * State through bindings, Flick next to Miniflare (the npm package that runs workerd locally
 * and simulates Workers' storage bindings on disk): the same Worker script on both, the same
 * wrk load, in interleaved rounds (Flick, Miniflare, Flick, Miniflare …), requests/s per
 * system and the ratio Flick / Miniflare per round.
 *
 * A workload is a Worker script, the bindings it needs (each kind with what is seeded before
 * the measurement) and the path wrk requests; each system turns a binding into its own setup
 * (`flickSetup`, `miniflareConfig`). KV only for now; SQL databases and durable objects are a
 * new binding kind, a case in each of the two, and their workloads in `stateWorkloads`.
 *
 * Both systems run as servers in their own processes: Flick as `flick up` (startFlick), each
 * workload a function; Miniflare as a Node child that holds one `new Miniflare(…)` (one
 * workerd) per workload, each on its own port with its own persistence directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { FlickClient } from "../src/api/index.ts";
import { spawnChild } from "./children.ts";
import { repoRoot, startFlick, stopTarget, waitForOutput, type Target } from "./targets.ts";
import { spread, type Spread } from "./warm.ts";
import { loadTest, type LoadOptions, type LoadResult } from "./wrk.ts";

/** A binding a workload's script uses; `seed`: keys written before the measurement. */
export type StateBinding = { kind: "kv"; name: string; seed: Record<string, string> };

export interface StateWorkload {
  name: string;
  /** What one request does, for the printed table. */
  what: string;
  /** An ES module Worker: `export default { fetch(request, env) }`. */
  script: string;
  bindings: StateBinding[];
  /** What wrk requests (path and query, appended to the workload's URL). */
  path: string;
  /** A right answer's body: checked on every system before the load. */
  answer: RegExp;
  /** Asked after the rounds: shows the writes landed where the script reads them. */
  after?: { path: string; answer: RegExp; what: string };
}

/** Small values, the same on both systems: 100 bytes. */
const valueOf = (i: number | string) => String(i).padStart(100, "v");

/** `?keys` on a script: how many keys env.KV lists (one page; these sets are ≤ 1,000 keys). */
const countKeys = `if (new URL(request.url).searchParams.has("keys")) return new Response(String((await env.KV.list()).keys.length));`;

export const stateWorkloads: StateWorkload[] = [
  {
    name: "kv-get",
    what: "get of one hot key",
    script: `export default {
  async fetch(request, env) {
    const value = await env.KV.get("k");
    return value === null ? new Response("k has no value\\n", { status: 404 }) : new Response(value);
  },
};`,
    bindings: [{ kind: "kv", name: "KV", seed: { k: valueOf("k") } }],
    path: "",
    answer: /^v{99}k$/,
  },
  {
    name: "kv-put",
    what: "put of 100 B to one of 100 keys",
    script: `let n = 0;
export default {
  async fetch(request, env) {
    ${countKeys}
    const i = n++;
    await env.KV.put("k" + (i % 100), String(i).padStart(100, "v"));
    return new Response("ok\\n");
  },
};`,
    bindings: [{ kind: "kv", name: "KV", seed: {} }],
    path: "",
    answer: /^ok\n$/,
    after: { path: "?keys", answer: /^100$/, what: "keys listed after the rounds" },
  },
  {
    name: "kv-mix",
    what: "9 gets to 1 put over 100 keys",
    script: `let n = 0;
export default {
  async fetch(request, env) {
    ${countKeys}
    const i = n++;
    const key = "k" + (i % 100);
    if (i % 10 === 9) {
      await env.KV.put(key, String(i).padStart(100, "v"));
      return new Response("ok\\n");
    }
    const value = await env.KV.get(key);
    return value === null ? new Response(key + " has no value\\n", { status: 404 }) : new Response(value);
  },
};`,
    bindings: [{ kind: "kv", name: "KV", seed: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, valueOf(`k${i}`)])) }],
    path: "",
    answer: /^(v+k\d+|ok\n)$/,
    after: { path: "?keys", answer: /^100$/, what: "keys listed after the rounds" },
  },
];

/** What each system's KV does before a write resolves, printed and kept with the figures. */
const durability = {
  flick:
    "put resolves after its group commit is fsynced: SQLite <data dir>/kv.db, WAL, synchronous=FULL; writes that arrive together share one transaction and one fsync",
  miniflare:
    "kvPersist=<dir>: each value is a new file under <dir>/KV/blobs, written and renamed into place without an fsync (the value it replaces is unlinked); its key row goes to the KV Durable Object's SQLite (WAL), one fsync per put before it resolves (seen with strace; the README says only that data is stored on the file system)",
};

/**
 * Miniflare from the npm registry, installed on first use like workerd (targets.ts), but in
 * a prefix of its own: `npm install --no-save` into bench/.tools would prune the pinned
 * workerd there as extraneous (and installing workerd would prune Miniflare). Pinned: the
 * newest non-beta release when this was written; it brings its own workerd.
 */
const miniflarePackage = "miniflare@4.20260730.0";
const miniflarePrefix = path.join(repoRoot, "bench", ".tools", "miniflare");
const miniflareModules = path.join(miniflarePrefix, "node_modules");

const packageVersion = (dir: string) => (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;

/** `miniflare <version> (workerd <version>)`, installing Miniflare first if needed. */
export function miniflareVersion(): string {
  const wanted = miniflarePackage.slice(miniflarePackage.lastIndexOf("@") + 1);
  const installed = path.join(miniflareModules, "miniflare");
  if (!existsSync(installed) || packageVersion(installed) !== wanted) {
    console.error(`installing ${miniflarePackage} into ${path.relative(repoRoot, miniflarePrefix)} (first run only)`);
    try {
      execFileSync("npm", ["install", "--prefix", miniflarePrefix, "--no-save", "--no-audit", "--no-fund", miniflarePackage], { stdio: "inherit" });
    } catch (err) {
      throw new Error(`could not install ${miniflarePackage} from the npm registry (${(err as Error).message})`);
    }
  }
  return `miniflare ${packageVersion(installed)} (workerd ${packageVersion(path.join(miniflareModules, "workerd"))})`;
}

/** A system serving every workload: the URL of each. */
interface StateSystem {
  name: "flick" | "miniflare";
  version: string;
  urls: Map<string, string>;
  target: Pick<Target, "child" | "dir">;
}

/** Flick: per workload, its KV namespaces created and seeded through the admin API, then the function deployed with them bound. */
async function flickSetup(client: FlickClient, w: StateWorkload): Promise<string> {
  const kvBindings: Record<string, string> = {};
  for (const b of w.bindings) {
    const namespace = `state-${w.name}-${b.name}`;
    await client.kvCreate(namespace);
    for (const [key, value] of Object.entries(b.seed)) await client.kvPut(namespace, key, value);
    kvBindings[b.name] = namespace;
  }
  const fn = `state-${w.name}`;
  await client.deploy(fn, { code: w.script, kvBindings });
  return fn;
}

async function startFlickSystem(workloads: StateWorkload[]): Promise<StateSystem> {
  const flick = await startFlick();
  try {
    const urls = new Map<string, string>();
    for (const w of workloads) urls.set(w.name, `${flick.baseUrl}/fn/${await flickSetup(flick.client, w)}`);
    return { name: "flick", version: flick.version, urls, target: flick };
  } catch (err) {
    await stopTarget(flick);
    throw err;
  }
}

/** Miniflare: per workload, the options its bindings need (and their seeds, written through `getKVNamespace`). */
function miniflareConfig(w: StateWorkload) {
  return {
    name: w.name,
    script: w.script,
    kvNamespaces: w.bindings.map((b) => b.name),
    seeds: w.bindings.map((b) => ({ kv: b.name, entries: Object.entries(b.seed) })),
  };
}

/**
 * The Miniflare server, run from a file (under `node -e` its getKVNamespace never
 * answers): argv[2] the module to import, argv[3] the persistence root, argv[4] the
 * workloads as JSON. Prints `ready {workload: url}` once every instance is seeded.
 */
const miniflareServer = `
import * as path from "node:path";
const [entry, persistRoot, json] = process.argv.slice(2);
const { Miniflare } = await import(entry);
const instances = [];
const urls = {};
const stop = async () => {
  await Promise.allSettled(instances.map((mf) => mf.dispose()));
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
for (const w of JSON.parse(json)) {
  const mf = new Miniflare({
    modules: true,
    script: w.script,
    compatibilityDate: "2024-09-23",
    host: "127.0.0.1",
    port: 0,
    kvNamespaces: w.kvNamespaces,
    kvPersist: path.join(persistRoot, w.name),
  });
  instances.push(mf);
  urls[w.name] = (await mf.ready).href;
  for (const seed of w.seeds) {
    const kv = await mf.getKVNamespace(seed.kv);
    for (const [key, value] of seed.entries) await kv.put(key, value);
  }
}
console.log("ready " + JSON.stringify(urls));
`;

async function startMiniflareSystem(workloads: StateWorkload[]): Promise<StateSystem> {
  const version = miniflareVersion();
  const dir = mkdtempSync(path.join(tmpdir(), "flick-bench-miniflare-"));
  const entry = pathToFileURL(path.join(miniflareModules, "miniflare", "dist", "src", "index.js")).href;
  const server = path.join(dir, "server.mjs");
  writeFileSync(server, miniflareServer);
  const child = spawnChild(process.execPath, ["--no-warnings", server, entry, path.join(dir, "persist"), JSON.stringify(workloads.map(miniflareConfig))], { cwd: dir });
  try {
    const ready = await waitForOutput(child, /^ready (\{.*\})$/m, "miniflare", 60_000);
    const urls = new Map(Object.entries(JSON.parse(ready) as Record<string, string>));
    return { name: "miniflare", version, urls, target: { child, dir } };
  } catch (err) {
    await stopTarget({ child, dir });
    throw err;
  }
}

/** Asks a workload's URL (plus `suffix`) once; fails unless the answer is 200 with the expected body. */
async function ask(system: string, url: string, suffix: string, answer: RegExp): Promise<string> {
  const res = await fetch(url + suffix);
  const body = await res.text();
  if (res.status !== 200 || !answer.test(body)) {
    throw new Error(`${system} ${url}${suffix} answered ${res.status} ${JSON.stringify(body.slice(0, 200))}, expected 200 and ${answer}`);
  }
  return body;
}

export interface StateWorkloadResult {
  name: string;
  what: string;
  /** Per system: each round's wrk result (errors = non-2xx + socket errors). */
  rounds: Record<"flick" | "miniflare", LoadResult[]>;
  /** Flick / Miniflare requests/s, each round's, and their median and range. */
  flickOverMiniflarePerRound: number[];
  flickOverMiniflare: Spread;
  /** The check after the rounds, per system: what it answered. */
  after: { what: string; flick: string; miniflare: string } | null;
}

export interface StateResults {
  rounds: number;
  load: LoadOptions;
  systems: { name: "flick" | "miniflare"; version: string; durability: string }[];
  workloads: StateWorkloadResult[];
}

export async function measureState(load: LoadOptions, rounds: number, workloads: StateWorkload[] = stateWorkloads): Promise<StateResults> {
  const systems: StateSystem[] = [];
  try {
    systems.push(await startFlickSystem(workloads));
    systems.push(await startMiniflareSystem(workloads));
    const urlOf = (s: StateSystem, w: StateWorkload) => s.urls.get(w.name)!;
    // Every system answers every workload right before any load, then a short warm-up each.
    for (const w of workloads) for (const s of systems) await ask(s.name, urlOf(s, w), w.path, w.answer);
    for (const w of workloads) for (const s of systems) await loadTest(urlOf(s, w) + w.path, { ...load, durationS: Math.min(2, load.durationS) });

    const results = workloads.map((w) => ({ w, rounds: { flick: [] as LoadResult[], miniflare: [] as LoadResult[] } }));
    for (let r = 0; r < rounds; r++) {
      for (const { w, rounds: perSystem } of results) {
        for (const s of systems) {
          const result = await loadTest(urlOf(s, w) + w.path, load);
          perSystem[s.name].push(result);
          console.error(`state round ${r + 1}: ${w.name} ${s.name} ${result.requestsPerSec.toFixed(0)} req/s${result.errors > 0 ? `, ${result.errors} errors` : ""}`);
        }
      }
    }
    const out: StateWorkloadResult[] = [];
    for (const { w, rounds: perSystem } of results) {
      const ratios = perSystem.flick.map((f, i) => f.requestsPerSec / perSystem.miniflare[i]!.requestsPerSec);
      let after: StateWorkloadResult["after"] = null;
      if (w.after !== undefined) {
        const a = w.after;
        const [flick, miniflare] = await Promise.all(systems.map((s) => ask(s.name, urlOf(s, w), a.path, a.answer)));
        after = { what: a.what, flick: flick!, miniflare: miniflare! };
      }
      out.push({
        name: w.name,
        what: w.what,
        rounds: perSystem,
        flickOverMiniflarePerRound: ratios,
        flickOverMiniflare: spread(ratios),
        after,
      });
    }
    return {
      rounds,
      load,
      systems: systems.map((s) => ({ name: s.name, version: s.version, durability: durability[s.name] })),
      workloads: out,
    };
  } finally {
    for (const s of systems) await stopTarget(s.target);
  }
}
