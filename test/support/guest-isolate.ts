/**
 * The guest runtime in a real isolated-vm isolate, for tests of what only an isolate
 * shows (memory V8 does not count, builtins that abort the process, startup snapshots).
 *
 * The runtime is bundled as the host bundles it, plus a line that hands the test
 * `setInstanceMemoryLimit` (guest-isolate-entry.ts; the host's `connect` will pass the
 * limit the same way). Host
 * ops are inert except `wasmModule`, which answers with the bytes given to `shipWasm`.
 * Each guest isolate is its own V8 isolate: create one per test and dispose it.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import * as esbuild from "esbuild";
import ivm from "isolated-vm";

// Every context made from now on gets V8's `gc` (as on a host run with --expose-gc).
setFlagsFromString("--expose-gc");

const entry = fileURLToPath(new URL("./guest-isolate-entry.ts", import.meta.url));
const MiB = 1024 * 1024;

let bundled: Promise<string> | undefined;
function testBundle(): Promise<string> {
  bundled ??= esbuild
    .build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2024",
      logLevel: "silent",
      legalComments: "none",
    })
    .then((r) => r.outputFiles[0]!.text);
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
  /** What the runtime reported through `memoryLimitReached`, in order. */
  readonly reached: string[];
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
  dispose(): void;
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
  const reached: string[] = [];
  context.global.setSync("__onReached", new ivm.Callback((what: string) => void reached.push(String(what))));
  context.evalSync(`
    const noop = () => {};
    const shipped = new Map();
    globalThis.__shipWasm = (hash, bytes) => shipped.set(hash, bytes);
    globalThis.__flickHost = {
      randomBytes: (n) => new Uint8Array(n), domainToASCII: (d) => d, log: noop, timerStart: noop, timerClear: noop,
      respond: noop, chunk: () => true, complete: noop, fail: noop, fetchStart: noop, fetchAbort: noop,
      subtle: noop, zlibOpen: noop, zlibWrite: noop, zlibClose: noop, bodyCredit: noop, queueSend: noop,
      wasmModule: (hash) => shipped.get(hash) ?? null,
    };
    const dispatcher = __flickDispatcher;
    delete globalThis.__flickDispatcher;
    dispatcher.connect(Date.now());
    const onReached = __onReached;
    delete globalThis.__onReached;
    __flickTestSetMemoryLimit(${options.memoryMiB * MiB}, (what) => onReached(what));
    delete globalThis.__flickTestSetMemoryLimit;
  `);
  const shipWasm = context.global.getSync("__shipWasm", { reference: true }) as ivm.Reference<(hash: string, bytes: Uint8Array) => void>;
  context.global.deleteSync("__shipWasm");
  return {
    isolate,
    reached,
    run: (code, timeoutMs = 10_000) => context.evalSync(code, { timeout: timeoutMs, copy: true }),
    attempt: (body, timeoutMs = 10_000) =>
      context.evalSync(
        `(() => { try { return { value: (() => { ${body} })() }; } catch (e) { return { error: e?.name, message: e?.message }; } })()`,
        { timeout: timeoutMs, copy: true },
      ) as Outcome,
    runAsync: (code, timeoutMs = 10_000) => context.eval(code, { timeout: timeoutMs, promise: true, copy: true }),
    shipWasm: (bytes) => {
      const hash = createHash("sha256").update(bytes).digest("hex");
      shipWasm.applySync(undefined, [hash, new ivm.ExternalCopy(bytes).copyInto()]);
      return `globalThis[Symbol.for("flick.wasm")]("${hash}")`;
    },
    dispose: () => {
      if (!isolate.isDisposed) isolate.dispose();
    },
  };
}
