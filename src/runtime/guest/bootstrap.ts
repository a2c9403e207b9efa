/**
 * Entry of the runtime bundle, run once in every new isolate before any user code.
 *
 * Installs the Web platform and leaves the runtime's entry points (contract.ts
 * `RuntimeEntries`) on `globalThis.__flickRuntime`, for the host to take references to
 * and delete when it connects the isolate. After that, nothing on the global scope leads
 * to the host.
 */
import type { RuntimeEntries } from "../contract.ts";
import { clockGlobals, resetClock, setClock } from "./clock.ts";
import { CompressionStream, DecompressionStream } from "./compression-streams.ts";
import { createConsole, logLine } from "./console.ts";
import { createCrypto, resetRandomPool } from "./crypto.ts";
import { fetch } from "./fetch.ts";
import { FetchEvent } from "./service-worker.ts";
import * as dispatcher from "./dispatcher.ts";
import { bindGlobalIdentity, defineGlobals, installWebGlobals } from "./globals.ts";
import { emit, installSyncCalls } from "./host-ops.ts";
import { currentInvocation } from "./invocation-scope.ts";
import { setInstanceMemoryLimit } from "./memory-limit.ts";
import { setAbortTimer } from "./web/abort.ts";
import { EventTarget, makeEventTarget } from "./web/event-target.ts";
import { lockdown, lockdownContextFeatures } from "./lockdown.ts";
import { navigatorGlobals } from "./navigator.ts";
import { shippedWasmModule, wasmModuleKey } from "./wasm-modules.ts";
import { queueMicrotask } from "./microtask.ts";
import { timerGlobals } from "./timers.ts";

const global = globalThis as typeof globalThis & { __flickRuntime?: RuntimeEntries };

// A clock for the install steps; connect() sets the isolate's own.
setClock(Date.now());
installWebGlobals(global, (error) => {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `Uncaught ${String(error)}`;
  logLine(currentInvocation(), "error", text);
});
setAbortTimer((callback, ms) => void timerGlobals.setTimeout(callback, ms));
defineGlobals(global, { console: createConsole(), ...createCrypto(), fetch, FetchEvent, CompressionStream, DecompressionStream, queueMicrotask, ...timerGlobals, ...clockGlobals({ EventTarget, makeEventTarget }), ...navigatorGlobals() });

lockdown(global);
lockdownContextFeatures(global);
Object.defineProperty(global, wasmModuleKey, { value: shippedWasmModule, writable: false, enumerable: false, configurable: false });

/**
 * Connects this isolate to its host. Separate from the rest of the bootstrap so that
 * everything above can live in a V8 startup snapshot shared by all isolates.
 */
const connect: RuntimeEntries["connect"] = (randomBytes, domainToASCII, wasmModule, encodingIndex, more, nowMs, memoryLimitBytes) => {
  installSyncCalls({ randomBytes, domainToASCII, wasmModule, encodingIndex }, more);
  resetRandomPool();
  setInstanceMemoryLimit(memoryLimitBytes, (what) => emit(["memoryLimit", what]));
  // globalThis, not the `global` captured above: a context made from a snapshot has its own proxy.
  bindGlobalIdentity(globalThis);
  lockdownContextFeatures(globalThis);
  resetClock(nowMs);
};

const entries: RuntimeEntries = {
  connect,
  init: dispatcher.init as RuntimeEntries["init"],
  handlers: dispatcher.handlers,
  run: dispatcher.run,
  take: dispatcher.take,
};
global.__flickRuntime = Object.freeze(entries);
