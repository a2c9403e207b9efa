/**
 * State through bindings, Flick next to Miniflare (the npm package that runs workerd locally
 * and simulates Workers' storage bindings on disk): the same Worker script on both, the same
 * wrk load, in interleaved rounds (Flick, Miniflare, Flick, Miniflare …), requests/s per
 * system and the ratio Flick / Miniflare per round.
 *
 * A workload is a Worker script, the bindings it needs (each kind with what is seeded before
 * the measurement) and the path wrk requests; each system turns a binding into its own setup
 * (`flickSetup`, `miniflareConfig`). Kinds: KV namespaces, SQL databases (D1's API) and
 * durable object classes exported by the script itself.
 *
 * Both systems run as servers in their own processes: Flick as `flick up` (startFlick), each
 * workload a function; Miniflare as a Node child that holds one `new Miniflare(…)` (one
 * workerd) per workload, each on its own port with its own persistence directories.
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

/**
 * A binding a workload's script uses, `env[name]`. `seed`: what is written before the
 * measurement — a KV namespace's keys, a SQL database's statements (run in order, in one
 * transaction on Flick, one batch on Miniflare). A durable object binding names a class the
 * script exports; its objects start empty.
 */
export type StateBinding =
  | { kind: "kv"; name: string; seed: Record<string, string> }
  | { kind: "sql"; name: string; seed: string[] }
  | { kind: "do"; name: string; className: string };

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
  /**
   * Asked after the rounds: shows the writes landed where the script reads them. Either the
   * body of `path` matches `answer`, or (`countsWrites`) the bodies of `paths` are counts
   * whose sum must equal the writes the system answered 2xx (every request of the workload
   * is one write): at least those, and at most as many more as could have been in flight
   * when a wrk run stopped (its connections) or timed out (its socket errors).
   */
  after?: { what: string } & ({ path: string; answer: RegExp } | { paths: string[]; countsWrites: true });
}

/** Small values, the same on both systems: 100 bytes. */
const valueOf = (i: number | string) => String(i).padStart(100, "v");

/** `?keys` on a script: how many keys env.KV lists (one page; these sets are ≤ 1,000 keys). */
const countKeys = `if (new URL(request.url).searchParams.has("keys")) return new Response(String((await env.KV.list()).keys.length));`;

/** Table t of the SQL workloads: ids 0–999, v = id (so the increments are sum(v) − 499,500). */
const sqlSeed = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
  "INSERT INTO t (id, v) WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < 999) SELECT x, x FROM i",
];

/**
 * A durable object class Counter (a counter in its storage, bumped and answered on each
 * request; `?peek` answers it unchanged) and a Worker sending each request to one of
 * `objects` objects in turn; `?sum=i` adds up the counters of objects i … i + 24 (of those there are).
 */
const counterScript = (objects: number) => `export class Counter {
  constructor(state, env) {
    this.state = state;
  }
  async fetch(request) {
    const now = (await this.state.storage.get("n")) ?? 0;
    if (new URL(request.url).searchParams.has("peek")) return new Response(String(now));
    await this.state.storage.put("n", now + 1);
    return new Response(String(now + 1));
  }
}
let n = 0;
export default {
  async fetch(request, env) {
    const from = new URL(request.url).searchParams.get("sum");
    if (from !== null) {
      let sum = 0;
      for (let i = Number(from); i < Math.min(Number(from) + 25, ${objects}); i++) sum += Number(await (await env.OBJ.getByName("o" + i).fetch("http://do/?peek")).text());
      return new Response(String(sum));
    }
    return env.OBJ.getByName("o" + (n++ % ${objects})).fetch("http://do/");
  },
};`;

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
  {
    name: "sql-read",
    what: "SELECT of one of 1,000 rows by primary key",
    script: `let n = 0;
export default {
  async fetch(request, env) {
    const row = await env.DB.prepare("SELECT v FROM t WHERE id = ?").bind(n++ % 1000).first();
    return row === null ? new Response("no row\\n", { status: 404 }) : Response.json(row);
  },
};`,
    bindings: [{ kind: "sql", name: "DB", seed: sqlSeed }],
    path: "",
    answer: /^\{"v":\d+\}$/,
  },
  {
    name: "sql-write",
    what: "UPDATE t SET v = v + 1 of one of 1,000 rows by primary key",
    script: `let n = 0;
export default {
  async fetch(request, env) {
    if (new URL(request.url).searchParams.has("sum")) {
      return new Response(String(await env.DB.prepare("SELECT sum(v) - 499500 AS s FROM t").first("s")));
    }
    const result = await env.DB.prepare("UPDATE t SET v = v + 1 WHERE id = ?").bind(n++ % 1000).run();
    return result.meta.changes === 1 ? new Response("ok\\n") : new Response("changed " + result.meta.changes + " rows\\n", { status: 500 });
  },
};`,
    bindings: [{ kind: "sql", name: "DB", seed: sqlSeed }],
    path: "",
    answer: /^ok\n$/,
    after: { paths: ["?sum"], countsWrites: true, what: "sum of the increments after the rounds" },
  },
  {
    name: "do-100",
    what: "durable object round trip to one of 100 objects: storage get + put of its counter",
    script: counterScript(100),
    bindings: [{ kind: "do", name: "OBJ", className: "Counter" }],
    path: "",
    answer: /^\d+$/,
    // A request may make at most 50 subrequests on Flick (docs/limits.md): 25 objects each.
    after: { paths: ["?sum=0", "?sum=25", "?sum=50", "?sum=75"], countsWrites: true, what: "sum of the 100 objects' counters after the rounds" },
  },
  {
    name: "do-1-hot",
    what: "the same, every request to ONE object (its requests run one at a time: per-object serialisation)",
    script: counterScript(1),
    bindings: [{ kind: "do", name: "OBJ", className: "Counter" }],
    path: "",
    answer: /^\d+$/,
    after: { paths: ["?sum=0"], countsWrites: true, what: "the object's counter after the rounds" },
  },
];

/** What each system does before a write resolves, per binding kind: printed and kept with the figures. */
const durability: Record<"flick" | "miniflare", Record<StateBinding["kind"], string>> = {
  flick: {
    kv: "put resolves after its group commit is fsynced: SQLite <data dir>/kv.db, WAL, synchronous=FULL; writes that arrive together share one transaction and one fsync",
    sql: "a statement resolves once committed: one SQLite file per database, <data dir>/sql/<id>.sqlite, WAL, synchronous=FULL (fsynced at each commit, no group commit); queries run in SQL runner processes (two), a database always on the same one, one call at a time per runner, tenants in turns",
    do: "every object's storage in one SQLite file, <data dir>/do/storage.db, WAL, synchronous=FULL, group commit (writes that arrive together share one transaction and one fsync); a write answers the object at once and commits behind it; the response waits until the writes before it are fsynced (output gate), the object's next request does not; an object's requests run one at a time in its one instance, which remembers what it read and wrote: a storage read of a key it knows stays in the instance, any other storage call is a round trip host → node → host",
  },
  miniflare: {
    kv: "kvPersist=<dir>: each value is a new file under <dir>/KV/blobs, written and renamed into place without an fsync (the value it replaces is unlinked); its key row goes to the KV Durable Object's SQLite (WAL), one fsync per put before it resolves (seen with strace; the README says only that data is stored on the file system)",
    sql: "d1Persist=<dir>: the database is a Durable Object's SQLite in workerd, <dir>/miniflare-D1DatabaseObject/<hash>.sqlite (WAL); one fsync of its WAL per write statement, before the answer leaves (seen with strace: 100 fsyncs for 100 UPDATEs, sent one at a time or 100 at once)",
    do: "durableObjectsPersist=<dir>: one SQLite file per object, <dir>/<worker>-Counter/<hash>.sqlite (WAL); one fsync of its WAL per request that wrote, before the response leaves (output gate; seen with strace: 100 fsyncs for 100 requests to one object, sent one at a time or 100 at once)",
  },
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

/**
 * Flick: per workload, its KV namespaces and SQL databases created and seeded through the
 * admin API, then the function deployed with them bound; a durable object class is the
 * function's own export, bound at the deploy.
 */
async function flickSetup(client: FlickClient, w: StateWorkload): Promise<string> {
  const kvBindings: Record<string, string> = {};
  const sqlBindings: Record<string, string> = {};
  const durableObjectBindings: Record<string, string> = {};
  for (const b of w.bindings) {
    const store = `state-${w.name}-${b.name}`;
    switch (b.kind) {
      case "kv":
        await client.kvCreate(store);
        for (const [key, value] of Object.entries(b.seed)) await client.kvPut(store, key, value);
        kvBindings[b.name] = store;
        break;
      case "sql":
        await client.sqlCreate(store);
        await client.sqlQuery(store, b.seed.join(";\n"));
        sqlBindings[b.name] = store;
        break;
      case "do":
        durableObjectBindings[b.name] = b.className;
        break;
    }
  }
  const fn = `state-${w.name}`;
  await client.deploy(fn, { code: w.script, kvBindings, sqlBindings, durableObjectBindings });
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

/**
 * Miniflare: per workload, the options its bindings need, each kind persisted under a
 * directory of the workload's, and its seeds (written through `getKVNamespace` and
 * `getD1Database`). A durable object class of the script is bound by its name.
 */
function miniflareConfig(w: StateWorkload) {
  const of = <K extends StateBinding["kind"]>(kind: K) => w.bindings.filter((b): b is Extract<StateBinding, { kind: K }> => b.kind === kind);
  return {
    name: w.name,
    script: w.script,
    kvNamespaces: of("kv").map((b) => b.name),
    d1Databases: of("sql").map((b) => b.name),
    durableObjects: Object.fromEntries(of("do").map((b) => [b.name, b.className])),
    seeds: [
      ...of("kv").map((b) => ({ kv: b.name, entries: Object.entries(b.seed) })),
      ...of("sql").map((b) => ({ d1: b.name, statements: b.seed })),
    ],
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
  const dir = path.join(persistRoot, w.name);
  const mf = new Miniflare({
    modules: true,
    script: w.script,
    compatibilityDate: "2024-09-23",
    host: "127.0.0.1",
    port: 0,
    kvNamespaces: w.kvNamespaces,
    kvPersist: path.join(dir, "kv"),
    d1Databases: w.d1Databases,
    d1Persist: path.join(dir, "d1"),
    durableObjects: w.durableObjects,
    durableObjectsPersist: path.join(dir, "do"),
  });
  instances.push(mf);
  urls[w.name] = (await mf.ready).href;
  for (const seed of w.seeds) {
    if (seed.kv !== undefined) {
      const kv = await mf.getKVNamespace(seed.kv);
      for (const [key, value] of seed.entries) await kv.put(key, value);
    } else {
      const db = await mf.getD1Database(seed.d1);
      await db.batch(seed.statements.map((sql) => db.prepare(sql)));
    }
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

/** What one system answered to a workload's check after the rounds. */
export interface AfterAnswer {
  status: number;
  body: string;
  /** What was expected: the pattern, or the range of writes answered 2xx (see StateWorkload.after). */
  expected: string;
  ok: boolean;
}

/** Writes a system answered 2xx (the first check and every wrk run) and how many more it may have done unseen. */
function writesOf(loads: LoadResult[], connections: number): { answered: number; unseen: number } {
  return {
    answered: 1 + loads.reduce((a, r) => a + r.requests - r.non2xx, 0),
    unseen: loads.reduce((a, r) => a + connections + r.socketErrors, 0),
  };
}

async function checkAfter(url: string, after: NonNullable<StateWorkload["after"]>, writes: { answered: number; unseen: number }): Promise<AfterAnswer> {
  if ("answer" in after) {
    const res = await fetch(url + after.path);
    const body = await res.text();
    return { status: res.status, body: body.slice(0, 200), expected: String(after.answer), ok: res.status === 200 && after.answer.test(body) };
  }
  // The counts' sum; the first answer that is not 200 with a count is shown instead.
  let n = 0;
  for (const p of after.paths) {
    const res = await fetch(url + p);
    const body = await res.text();
    if (res.status !== 200 || !/^\d+$/.test(body)) return { status: res.status, body: `${p}: ${body.slice(0, 200)}`, expected: "200 and a count", ok: false };
    n += Number(body);
  }
  const { answered, unseen } = writes;
  return {
    status: 200,
    body: String(n),
    expected: `${answered} writes answered 2xx, up to ${answered + unseen} with those in flight when wrk stopped`,
    ok: n >= answered && n <= answered + unseen,
  };
}

export interface StateWorkloadResult {
  name: string;
  what: string;
  /** Per system: each round's wrk result (errors = non-2xx + socket errors). */
  rounds: Record<"flick" | "miniflare", LoadResult[]>;
  /** Per system: the warm-up run before the rounds (not in the figures; its writes are counted by the check after). */
  warmUp: Record<"flick" | "miniflare", LoadResult>;
  /** Flick / Miniflare requests/s, each round's, and their median and range. */
  flickOverMiniflarePerRound: number[];
  flickOverMiniflare: Spread;
  /** The check after the rounds, per system: what it answered and whether that was right. */
  after: { what: string; flick: AfterAnswer; miniflare: AfterAnswer } | null;
}

export interface StateResults {
  rounds: number;
  load: LoadOptions;
  systems: { name: "flick" | "miniflare"; version: string; durability: Record<StateBinding["kind"], string> }[];
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
    const results = [];
    for (const w of workloads) {
      const warmUp = {} as StateWorkloadResult["warmUp"];
      for (const s of systems) warmUp[s.name] = await loadTest(urlOf(s, w) + w.path, { ...load, durationS: Math.min(2, load.durationS) });
      results.push({ w, warmUp, rounds: { flick: [] as LoadResult[], miniflare: [] as LoadResult[] } });
    }

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
    for (const { w, warmUp, rounds: perSystem } of results) {
      const ratios = perSystem.flick.map((f, i) => f.requestsPerSec / perSystem.miniflare[i]!.requestsPerSec);
      let after: StateWorkloadResult["after"] = null;
      if (w.after !== undefined) {
        const a = w.after;
        const [flick, miniflare] = await Promise.all(
          systems.map((s) => checkAfter(urlOf(s, w), a, writesOf([warmUp[s.name], ...perSystem[s.name]], load.connections))),
        );
        after = { what: a.what, flick: flick!, miniflare: miniflare! };
      }
      out.push({
        name: w.name,
        what: w.what,
        rounds: perSystem,
        warmUp,
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
