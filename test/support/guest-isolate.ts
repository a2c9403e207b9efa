/**
 * The guest runtime in a real isolated-vm isolate, for tests of what only an isolate
 * shows (memory V8 does not count, builtins that abort the process, startup snapshots).
 *
 * The runtime is bundled as the host bundles it (guest-isolate-entry.ts) and connected as
 * a host connects it (src/host/instance.ts `prepare`): references to the entry points on
 * `__flickRuntime`, which is then deleted, and `connect` with the memory limit. Of the
 * sync calls `wasmModule` answers with the bytes given to `shipWasm`, `encodingIndex` as
 * a host does (recording what was asked, in `indexesAsked`); the others are stubs. Test
 * code runs as user code would, in the same global (`run`, `attempt`, `runAsync`), or as
 * a function's requests through the runtime's `run` (`serve`, `request`), one entry each. Each guest isolate is its own V8 isolate: create one per
 * test and dispose it.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import ivm from "isolated-vm";
import { bundleGuestScript } from "../../src/build/index.ts";
import { encodingIndexes } from "../../src/host/encoding-indexes.ts";

// Every context made from now on gets V8's `gc` (as on a host run with --expose-gc).
setFlagsFromString("--expose-gc");

const entry = fileURLToPath(new URL("./guest-isolate-entry.ts", import.meta.url));
const MiB = 1024 * 1024;

let bundled: Promise<string> | undefined;
function testBundle(): Promise<string> {
  bundled ??= bundleGuestScript(entry);
  return bundled;
}

let snapshot: Promise<ivm.ExternalCopy<ArrayBuffer>> | undefined;

export interface GuestIsolateOptions {
  /** The isolate's heap limit and the limit the runtime is told, in MiB. */
  memoryMiB: number;
  /** Start from a startup snapshot of the runtime, as the hosts do. */
  fromSnapshot?: boolean;
  /**
   * Whether the runtime gets V8's `gc` (default true, as on a host run with
   * --expose-gc). When false the test has it as `__testGc`, to stand for V8 collecting
   * on its own schedule.
   */
  runtimeGc?: boolean;
}

export interface GuestIsolate {
  readonly isolate: ivm.Isolate;
  /**
   * What the runtime told the host through `memoryLimitReached` or `memoryLimitExceeded`
   * (its `memoryLimit` ops, taken from the outbox as a host takes them), in order.
   */
  readonly reached: string[];
  /** The Encoding Standard indexes the runtime asked for (`encodingIndex`), in order. */
  readonly indexesAsked: readonly string[];
  /** Runs a script and returns its (copied) completion value; guest errors are thrown. */
  run(code: string, timeoutMs?: number): unknown;
  /**
   * Runs `body` (statements ending in `return`) as a function in the guest: its result,
   * or the name and message of what it threw.
   */
  attempt(body: string, timeoutMs?: number): Outcome;
  /** Runs a script whose completion value is a promise, and returns what it resolves to. */
  runAsync(code: string, timeoutMs?: number): Promise<unknown>;
  /**
   * Ships a Wasm module as a deploy does; returns an expression that evaluates, in the
   * guest, to the compiled module (what `import mod from "./x.wasm"` gives).
   */
  shipWasm(bytes: Uint8Array): string;
  /**
   * Binds a function's default export: `fetch` is the source of a function expression
   * `(request, env, ctx) => Response | Promise<Response>`, evaluated in the guest.
   */
  serve(fetch: string): void;
  /** One request to the bound function, in one entry through the runtime's `run`. */
  request(url?: string): Promise<Answer>;
  dispose(): void;
}

export interface Answer {
  /** The response's status, or 0 when the invocation failed without one. */
  status: number;
  /** The buffered response body as text. */
  text: string;
  /** What `fail` said, when the handler threw. */
  failed?: string;
  /** The ops the entry produced. */
  ops: unknown[][];
}

export interface Outcome {
  value?: unknown;
  /** The thrown error's name, e.g. "RangeError". */
  error?: string;
  message?: string;
}

export async function createGuestIsolate(options: GuestIsolateOptions): Promise<GuestIsolate> {
  const source = await testBundle();
  if (options.fromSnapshot === true) snapshot ??= Promise.resolve(ivm.Isolate.createSnapshot([{ code: source, filename: "flick:runtime.js" }]));
  const isolate = new ivm.Isolate(
    options.fromSnapshot === true ? { memoryLimit: options.memoryMiB, snapshot: await snapshot! } : { memoryLimit: options.memoryMiB },
  );
  const context = isolate.createContextSync();
  if (options.runtimeGc === false) context.evalSync(`globalThis.__testGc = gc; gc = undefined;`);
  if (options.fromSnapshot !== true) context.evalSync(source, { filename: "flick:runtime.js" });
  const entries = context.global.getSync("__flickRuntime", { reference: true }) as ivm.Reference<Record<string, unknown>>;
  context.global.deleteSync("__flickRuntime");
  const entry = (name: string) => entries.getSync(name, { reference: true }) as ivm.Reference<(...args: unknown[]) => unknown>;
  const [connect, init, run, take] = [entry("connect"), entry("init"), entry("run"), entry("take")];
  const shipped = new Map<string, Uint8Array>();
  const indexesAsked: string[] = [];
  connect.applySync(
    undefined,
    [
      new ivm.Callback((n: number) => new Uint8Array(n)),
      new ivm.Callback((domain: string) => domain),
      new ivm.Callback((hash: string) => shipped.get(hash) ?? null),
      new ivm.Callback((name: string) => {
        indexesAsked.push(name);
        return encodingIndexes.table(name);
      }),
      new ivm.Callback(() => {}, { ignored: true }),
      Date.now(),
      options.memoryMiB * MiB,
    ],
    { arguments: { copy: true } },
  );
  const reached: string[] = [];
  /** Everything the guest emitted since the last take, as the host takes it. */
  const takeOps = (): unknown[][] => {
    // `false`: the harness drops `run`'s result, so the ops it resolved with come here too.
    const [ops] = take.applySync(undefined, [false], { arguments: { copy: true }, result: { copy: true } }) as [unknown[][], number];
    for (const op of ops) if (op[0] === "memoryLimit") reached.push(String(op[1]));
    return ops;
  };
  let invocation = 0;
  return {
    isolate,
    indexesAsked,
    get reached() {
      if (!isolate.isDisposed) takeOps();
      return reached;
    },
    run: (code, timeoutMs = 10_000) => context.evalSync(code, { timeout: timeoutMs, copy: true }),
    attempt: (body, timeoutMs = 10_000) =>
      context.evalSync(
        `(() => { try { return { value: (() => { ${body} })() }; } catch (e) { return { error: e?.name, message: e?.message }; } })()`,
        { timeout: timeoutMs, copy: true },
      ) as Outcome,
    runAsync: (code, timeoutMs = 10_000) => context.eval(code, { timeout: timeoutMs, promise: true, copy: true }),
    shipWasm: (bytes) => {
      const hash = createHash("sha256").update(bytes).digest("hex");
      shipped.set(hash, bytes);
      return `globalThis[Symbol.for("flick.wasm")]("${hash}")`;
    },
    serve: (fetch) => {
      const namespace = context.evalSync(`({ default: { fetch: (${fetch}) } })`, { reference: true }) as ivm.Reference<unknown>;
      const problem = init.applySync(undefined, [namespace.derefInto(), [], []], { arguments: { copy: true } });
      namespace.release();
      if (problem !== "") throw new Error(`init: ${String(problem)}`);
    },
    request: async (url = "http://fn.test/") => {
      const id = ++invocation;
      const event = ["request", id, "GET", url, [], null, false];
      // The ops are taken with `take`, which hands over those of the `run` just resolved
      // too (not yet acknowledged), so that each op is seen once whichever way it left.
      await run.apply(undefined, [Date.now(), true, [event]], { arguments: { copy: true }, result: { promise: true, copy: true } });
      const ops = takeOps();
      const respond = ops.find((op) => op[0] === "respond" && op[1] === id);
      const fail = ops.find((op) => op[0] === "fail" && op[1] === id);
      const body = respond?.[4] as Uint8Array | null | undefined;
      return {
        status: typeof respond?.[2] === "number" ? respond[2] : 0,
        text: body == null ? "" : new TextDecoder().decode(body),
        ...(fail === undefined ? {} : { failed: String(fail[2]) }),
        ops,
      };
    },
    dispose: () => {
      if (!isolate.isDisposed) isolate.dispose();
    },
  };
}
