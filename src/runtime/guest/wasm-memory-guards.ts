/**
 * WebAssembly memories take their most from the instance's memory pool
 * (memory-reservations.ts), shared with resizable ArrayBuffers:
 * - `new WebAssembly.Memory(descriptor)` reads each field V8 reads (address, initial,
 *   maximum, shared) once, converts it once, refuses `shared`, and hands the native
 *   constructor a fresh object of those values. Its maximum, given or not, is capped at
 *   what the pool has left and reserved: a memory without a maximum may otherwise grow to
 *   4 GiB (16 GiB with memory64), and Emscripten's growable builds declare 2 GiB, so
 *   capping keeps them working up to the instance's limit where refusing would stop them
 *   at start; past the cap `grow` throws a RangeError, as on a machine out of memory.
 * - a shipped module's own memories are capped in its binary (wasm-memory-limits.ts), and
 *   each instantiation (`new WebAssembly.Instance`, `WebAssembly.instantiate`) reserves
 *   their maxima until the instance and the memories it exports are all collected.
 * Over the pool: `memoryLimitReached`.
 */
import { instanceMemoryLimitBytes, memoryLimitReached } from "./memory-limit.ts";
import { freeBytes, holdUntilCollected, reclaim, releaseReservation, reserve, type Reservation } from "./memory-reservations.ts";
import { limitModuleMemories, maxPages32, maxPages64, wasmPageBytes } from "./wasm-memory-limits.ts";
import { MathFloor, MathMin, MathTrunc, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectSetPrototypeOf, PromisePrototypeThen, PromiseReject, ReflectApply } from "./web/intrinsics.ts";

const ReflectConstruct = Reflect.construct;
const ObjectKeys = Object.keys;
const BigIntCtor = BigInt;
const BigIntAsIntN = BigInt.asIntN;
const NumberCtor = Number;
const WeakMapCtor = WeakMap;
const WeakMapGet = Function.prototype.call.bind(WeakMap.prototype.get) as unknown as (self: WeakMap<object, number>, key: unknown) => number | undefined;
const WeakMapSet = Function.prototype.call.bind(WeakMap.prototype.set) as unknown as (self: WeakMap<object, number>, key: object, value: number) => WeakMap<object, number>;

type Constructor = (new (...args: never[]) => object) & { prototype: object };

export interface WasmMemoryGuards {
  /** Compiles a shipped module's bytes with its memories capped. */
  compileShipped(bytes: Uint8Array): object;
  /** True for a module `compileShipped` made. */
  isShippedModule(value: unknown): boolean;
  /** `WebAssembly.instantiate(module, imports)` for a shipped module, reserving its memories. */
  instantiate(module: object, imports: unknown): Promise<unknown>;
  /** Replaces WebAssembly.Memory and WebAssembly.Instance with their guards. */
  install(define: (target: object, key: PropertyKey, value: unknown) => void): void;
}

/** Descriptor values converted as V8 converts them: BigInts for memory64, numbers otherwise. */
function toLimit(value: unknown, is64: boolean): number | bigint | undefined {
  if (value === undefined) return undefined;
  if (!is64) return +(value as number);
  return typeof value === "bigint" ? value : BigIntAsIntN(64, value as bigint);
}

/** A page count as V8 reads it, or -1 for a value it refuses. */
function pages(limit: number | bigint): number {
  const number = NumberCtor(limit);
  return number === number && number >= 0 && number !== Infinity ? MathTrunc(number) : -1;
}

/** Puts `Guard` where `Native` was, as the value of `Native.prototype.constructor` too. */
function standIn(Guard: Function, Native: Constructor, name: string): void {
  ObjectDefineProperty(Guard, "name", { value: name });
  ObjectDefineProperty(Guard, "length", { value: 1 });
  ObjectDefineProperty(Guard, "prototype", { value: Native.prototype, writable: false, enumerable: false, configurable: false });
  ObjectDefineProperty(Native.prototype, "constructor", { value: Guard, writable: true, enumerable: false, configurable: true });
}

export function createWasmMemoryGuards(wasm: Record<string, unknown>): WasmMemoryGuards {
  const NativeModule = wasm["Module"] as Constructor;
  const NativeInstance = wasm["Instance"] as Constructor;
  const NativeMemory = wasm["Memory"] as Constructor;
  const nativeInstantiate = wasm["instantiate"] as (module: object, imports: unknown) => Promise<object>;
  const CompileError = wasm["CompileError"] as ErrorConstructor;
  const InstanceExports = ObjectGetOwnPropertyDescriptor(NativeInstance.prototype, "exports")!.get!;
  const MemoryBuffer = ObjectGetOwnPropertyDescriptor(NativeMemory.prototype, "buffer")!.get!;
  /** Bytes each shipped module's memories may come to, per instantiation. */
  const moduleMemoryBytes = new WeakMapCtor<object, number>();

  const isMemory = (value: unknown): value is object => {
    if (typeof value !== "object" || value === null) return false;
    try {
      ReflectApply(MemoryBuffer, value, []);
      return true;
    } catch {
      return false;
    }
  };

  const reserveModule = (module: object): Reservation | undefined => {
    const bytes = WeakMapGet(moduleMemoryBytes, module);
    if (bytes === undefined) throw new TypeError("WebAssembly.Instance(): Argument 0 must be a WebAssembly.Module shipped with the deploy");
    return bytes === 0 ? undefined : reserve(bytes, `a WebAssembly instance whose memories may grow to ${bytes} bytes`);
  };

  /** The instance holds the memories it defines; those it exports may outlive it. */
  const holdForInstance = (reservation: Reservation | undefined, instance: object) => {
    if (reservation === undefined) return;
    const holders = ObjectSetPrototypeOf([instance], null) as object[];
    const exports = ReflectApply(InstanceExports, instance, []) as Record<string, unknown>;
    const names = ObjectKeys(exports);
    for (let i = 0; i < names.length; i++) {
      const value = exports[names[i]!];
      if (isMemory(value)) holders[holders.length] = value;
    }
    holdUntilCollected(reservation, holders);
  };

  const Instance = function Instance(this: unknown, module: object, imports?: unknown): object {
    if (new.target === undefined) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    const reservation = reserveModule(module);
    let instance: object;
    try {
      instance = ReflectConstruct(NativeInstance, [module, imports], new.target);
    } catch (error) {
      if (reservation !== undefined) releaseReservation(reservation);
      throw error;
    }
    holdForInstance(reservation, instance);
    return instance;
  };

  const Memory = function Memory(this: unknown, descriptor: unknown): object {
    if (new.target === undefined) throw new TypeError("WebAssembly.Memory must be invoked with 'new'");
    if (descriptor === null || (typeof descriptor !== "object" && typeof descriptor !== "function")) {
      return ReflectConstruct(NativeMemory, [descriptor], new.target);
    }
    // One read of each field, in V8's order; the native constructor never sees `descriptor`.
    const fields = descriptor as Record<string, unknown>;
    const addressField = fields["address"];
    const initialField = fields["initial"];
    const maximumField = fields["maximum"];
    const sharedField = fields["shared"];
    if (sharedField) throw new TypeError("shared WebAssembly memory is disallowed in Flick functions (no shared memory between threads)");
    const address = addressField === undefined ? undefined : `${addressField as string}`;
    const is64 = address === "i64";
    const initial = toLimit(initialField, is64);
    const maximum = toLimit(maximumField, is64);
    const fresh = { __proto__: null, address, initial, maximum, shared: false };
    const engineMax = is64 ? maxPages64 : maxPages32;
    const initialPages = initial === undefined ? -1 : pages(initial);
    const maximumPages = maximum === undefined ? engineMax : pages(maximum);
    const invalid = initialPages < 0 || maximumPages < 0 || maximumPages > engineMax || initialPages > maximumPages;
    if (invalid || (address !== undefined && address !== "i32" && !is64)) {
      // The native constructor throws its TypeError or RangeError, allocating nothing.
      ReflectConstruct(NativeMemory, [fresh], new.target);
      throw new RangeError("WebAssembly.Memory(): invalid descriptor");
    }
    let allowedPages = MathFloor(freeBytes() / wasmPageBytes);
    if (maximumPages > allowedPages) allowedPages = MathFloor(reclaim() / wasmPageBytes);
    if (initialPages > allowedPages) memoryLimitReached(`a WebAssembly.Memory of ${initialPages} pages`);
    const cappedPages = MathMin(maximumPages, engineMax, allowedPages);
    fresh.maximum = is64 ? BigIntCtor(cappedPages) : cappedPages;
    const reservation = reserve(cappedPages * wasmPageBytes, `a WebAssembly.Memory of up to ${cappedPages} pages`);
    let memory: object;
    try {
      memory = ReflectConstruct(NativeMemory, [fresh], new.target);
    } catch (error) {
      releaseReservation(reservation);
      throw error;
    }
    holdUntilCollected(reservation, [memory]);
    return memory;
  };

  return {
    compileShipped(bytes) {
      const limited = limitModuleMemories(bytes, MathFloor(instanceMemoryLimitBytes() / wasmPageBytes));
      if (limited.refused !== undefined) throw new CompileError(limited.refused);
      const module = new NativeModule(limited.bytes as never);
      WeakMapSet(moduleMemoryBytes, module, limited.memoryBytes);
      return module;
    },
    isShippedModule: (value) => WeakMapGet(moduleMemoryBytes, value) !== undefined,
    instantiate(module, imports) {
      let reservation: Reservation | undefined;
      try {
        reservation = reserveModule(module);
      } catch (error) {
        return PromiseReject(error);
      }
      const instantiated = ReflectApply(nativeInstantiate, wasm, [module, imports]) as Promise<object>;
      return PromisePrototypeThen(
        instantiated,
        (instance) => {
          holdForInstance(reservation, instance);
          return instance;
        },
        (error: unknown) => {
          if (reservation !== undefined) releaseReservation(reservation);
          throw error;
        },
      );
    },
    install(define) {
      standIn(Instance, NativeInstance, "Instance");
      standIn(Memory, NativeMemory, "Memory");
      define(wasm, "Instance", Instance);
      define(wasm, "Memory", Memory);
    },
  };
}
