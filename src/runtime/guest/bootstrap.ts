/**
 * Entry of the runtime bundle, run once in every new isolate before any user code.
 *
 * The host leaves its ops on `globalThis.__flickHost` (sync callbacks that copy their
 * arguments); we capture them, delete the global, install the Web platform, and leave
 * the dispatcher on `globalThis.__flickDispatcher` for the host to take a reference to
 * and delete in turn. After this, nothing on the global scope leads to the host.
 */
import { clockGlobals, resetClock, setClock } from "./clock.ts";
import { CompressionStream, DecompressionStream } from "./compression-streams.ts";
import { createConsole } from "./console.ts";
import { createCrypto } from "./crypto.ts";
import { fetch } from "./fetch.ts";
import { FetchEvent } from "./service-worker.ts";
import * as dispatcher from "./dispatcher.ts";
import { bindGlobalIdentity, defineGlobals, installWebGlobals } from "./globals.ts";
import { hostOps, installHostOps, type HostOps } from "./host-ops.ts";
import { currentInvocation } from "./invocation-scope.ts";
import { setAbortTimer } from "./web/abort.ts";
import { EventTarget, makeEventTarget } from "./web/event-target.ts";
import { lockdown, lockdownContextFeatures } from "./lockdown.ts";
import { navigatorGlobals } from "./navigator.ts";
import { shippedWasmModule, wasmModuleKey } from "./wasm-modules.ts";
import { queueMicrotask } from "./microtask.ts";
import { timerGlobals } from "./timers.ts";

const global = globalThis as typeof globalThis & { __flickHost?: HostOps; __flickDispatcher?: unknown };

// A clock for the install steps; connect() sets the isolate's own.
setClock(Date.now());
installWebGlobals(global, (error) => {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `Uncaught ${String(error)}`;
  hostOps().log(currentInvocation(), "error", text);
});
setAbortTimer((callback, ms) => void timerGlobals.setTimeout(callback, ms));
defineGlobals(global, { console: createConsole(), ...createCrypto(), fetch, FetchEvent, CompressionStream, DecompressionStream, queueMicrotask, ...timerGlobals, ...clockGlobals({ EventTarget, makeEventTarget }), ...navigatorGlobals() });

lockdown(global);
lockdownContextFeatures(global);
Object.defineProperty(global, wasmModuleKey, { value: shippedWasmModule, writable: false, enumerable: false, configurable: false });

/**
 * Connects this isolate to its host: takes the ops the host left on `__flickHost` and
 * removes them from the global scope. Separate from the rest of the bootstrap so that
 * everything above can live in a V8 startup snapshot shared by all isolates.
 */
function connect(nowMs: number): void {
  // globalThis, not the `global` captured above: a context made from a snapshot has its own proxy.
  const current = globalThis as typeof global;
  const ops = current.__flickHost;
  if (ops === undefined) throw new Error("runtime bootstrap: the host did not provide __flickHost");
  delete current.__flickHost;
  installHostOps(Object.freeze({ ...ops }));
  bindGlobalIdentity(globalThis);
  lockdownContextFeatures(globalThis);
  resetClock(nowMs);
}

global.__flickDispatcher = Object.freeze({
  connect,
  init: dispatcher.init,
  dispatch: dispatcher.dispatch,
  scheduled: dispatcher.scheduled,
  queueBatch: dispatcher.queueBatch,
  handlers: dispatcher.handlers,
  timer: dispatcher.timer,
  end: dispatcher.end,
  fetched: dispatcher.fetched,
  zlibDone: dispatcher.zlibDone,
  subtleDone: dispatcher.subtleDone,
  queueDone: dispatcher.queueDone,
  resume: dispatcher.resume,
  body: dispatcher.body,
  unhandledRejection: dispatcher.unhandledRejection,
});
