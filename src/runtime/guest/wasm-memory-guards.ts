/**
 * WebAssembly memories count what they have committed against the instance's memory
 * limit (memory-reservations.ts), with resizable ArrayBuffers:
 * - `new WebAssembly.Memory(descriptor)` reads each field V8 reads (address, initial,
 *   maximum, shared) once, converts it once, refuses `shared`, and hands the native
 *   constructor a fresh object of those values. Its maximum, given or not, is capped at
 *   the limit — a memory without a maximum may otherwise grow to 4 GiB (16 GiB with
 *   memory64), and Emscripten's growable builds declare 2 GiB, so capping keeps them
 *   working up to the limit where refusing would stop them at start; past the cap `grow`
 *   throws a RangeError, as on a machine out of memory. The cap reserves nothing: the
 *   memory counts its initial size, then its size.
 * - `WebAssembly.Memory.prototype.grow` is checked before it commits (its delta converted
 *   once, the native method given that value); growth inside Wasm is counted at the end of
 *   the entry (`checkCommittedMemory`).
 * - a shipped module's own memories are capped in its binary (wasm-memory-limits.ts).
 *   Each instantiation (`new WebAssembly.Instance`, `WebAssembly.instantiate`) counts
 *   each memory the module exports at its size, read through the exported
 *   `WebAssembly.Memory` (which the instance keeps alive, and which keeps its memory
 *   alive), and each memory it keeps to itself at its capped maximum, since nothing in
 *   JavaScript can read that one's size; the instance holds those.
 * Over the limit: `memoryLimitReached`.
 */
import { instanceMemoryLimitBytes, memoryLimitReached } from "./memory-limit.ts";
import { ensureRoom, setCommitted, track, wasmMemoryReservation, type Committed } from "./memory-reservations.ts";
import { limitModuleMemories, maxPages32, maxPages64, wasmPageBytes, type DefinedMemory } from "./wasm-memory-limits.ts";
import {
  ArrayBufferPrototypeGetByteLength,
  MathFloor,
  MathMin,
  MathTrunc,
  ObjectDefineProperty,
  ObjectGetOwnPropertyDescriptor,
  ObjectSetPrototypeOf,
  PromisePrototypeThen,
  PromiseReject,
  ReflectApply,
} from "./web/intrinsics.ts";

const ReflectConstruct = Reflect.construct;
const ObjectKeys = Object.keys;
const BigIntCtor = BigInt;
const BigIntAsIntN = BigInt.asIntN;
const NumberCtor = Number;
const WeakMapCtor = WeakMap;
const WeakMapGet = Function.prototype.call.bind(WeakMap.prototype.get) as unknown as <V>(self: WeakMap<object, V>, key: unknown) => V | undefined;
const WeakMapSet = Function.prototype.call.bind(WeakMap.prototype.set) as unknown as <V>(self: WeakMap<object, V>, key: object, value: V) => WeakMap<object, V>;

type Constructor = (new (...args: never[]) => object) & { prototype: object };

export interface WasmMemoryGuards {
  /** Compiles a shipped module's bytes with its memories capped. */
  compileShipped(bytes: Uint8Array): object;
  /** True for a module `compileShipped` made. */
  isShippedModule(value: unknown): boolean;
  /** `WebAssembly.instantiate(module, imports)` for a shipped module, counting its memories. */
  instantiate(module: object, imports: unknown): Promise<unknown>;
  /** Replaces WebAssembly.Memory, WebAssembly.Instance and Memory.prototype.grow with their guards. */
  install(define: (target: object, key: PropertyKey, value: unknown) => void): void;
}

/** A memory counted at its size: what `grow` needs to check a delta. */
interface CountedMemory {
  readonly committed: Committed;
  readonly is64: boolean;
  /** Its (capped) maximum: a grow past it fails natively, committing nothing. */
  readonly maximumPages: number;
}

/** What a shipped module's instantiation counts. */
interface ShippedModule {
  readonly memories: readonly DefinedMemory[];
  readonly exportsKnown: boolean;
  /** Counted as soon as it is instantiated: exported memories' minima, the others' maxima. */
  readonly startBytes: number;
  /** The address space its memories reserve. */
  readonly reservedBytes: number;
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

function shippedModule(limited: { memories: readonly DefinedMemory[]; exportsKnown: boolean }): ShippedModule {
  let startBytes = 0;
  let reservedBytes = 0;
  for (let i = 0; i < limited.memories.length; i++) {
    const memory = limited.memories[i]!;
    startBytes += (memory.exportNames.length > 0 ? memory.minimumPages : memory.maximumPages) * wasmPageBytes;
    reservedBytes += wasmMemoryReservation(memory.is64);
  }
  return { memories: limited.memories, exportsKnown: limited.exportsKnown, startBytes, reservedBytes };
}

export function createWasmMemoryGuards(wasm: Record<string, unknown>): WasmMemoryGuards {
  const NativeModule = wasm["Module"] as Constructor;
  const NativeInstance = wasm["Instance"] as Constructor;
  const NativeMemory = wasm["Memory"] as Constructor;
  const nativeGrow = (NativeMemory.prototype as { grow: Function }).grow;
  const growDescriptor = ObjectGetOwnPropertyDescriptor(NativeMemory.prototype, "grow")!;
  const nativeInstantiate = wasm["instantiate"] as (module: object, imports: unknown) => Promise<object>;
  const CompileError = wasm["CompileError"] as ErrorConstructor;
  const InstanceExports = ObjectGetOwnPropertyDescriptor(NativeInstance.prototype, "exports")!.get!;
  const MemoryBuffer = ObjectGetOwnPropertyDescriptor(NativeMemory.prototype, "buffer")!.get!;
  /** What each shipped module's instantiations count. */
  const shipped = new WeakMapCtor<object, ShippedModule>();
  /** Each memory counted at its size. */
  const counted = new WeakMapCtor<object, CountedMemory>();

  /** A memory's size in bytes now (growth inside Wasm included). */
  const memoryBytes = (memory: object): number => ArrayBufferPrototypeGetByteLength(ReflectApply(MemoryBuffer, memory, []) as ArrayBuffer);

  const isMemory = (value: unknown): value is object => {
    if (typeof value !== "object" || value === null) return false;
    try {
      ReflectApply(MemoryBuffer, value, []);
      return true;
    } catch {
      return false;
    }
  };

  const countMemory = (memory: object, is64: boolean, maximumPages: number): void => {
    WeakMapSet(counted, memory, { committed: track([memory], memoryBytes(memory), memoryBytes, wasmMemoryReservation(is64)), is64, maximumPages });
  };

  const moduleOf = (module: object): ShippedModule => {
    const info = WeakMapGet(shipped, module);
    if (info === undefined) throw new TypeError("WebAssembly.Instance(): Argument 0 must be a WebAssembly.Module shipped with the deploy");
    return info;
  };

  /**
   * Room for what an instantiation counts at once. Checked before V8 makes the memories,
   * and again after: the imports object's getters ran user code in between.
   */
  const roomForInstance = (info: ShippedModule): void => {
    ensureRoom(info.startBytes, `a WebAssembly instance whose memories take ${info.startBytes} bytes`, info.reservedBytes);
  };

  /** Counts a new instance's memories: the exported ones at their size, the others at their maximum. */
  const countInstance = (info: ShippedModule, instance: object): void => {
    const exports = ReflectApply(InstanceExports, instance, []) as Record<string, unknown>;
    let keptBytes = 0;
    let keptReserved = 0;
    for (let i = 0; i < info.memories.length; i++) {
      const memory = info.memories[i]!;
      if (memory.exportNames.length === 0) {
        keptBytes += memory.maximumPages * wasmPageBytes;
        keptReserved += wasmMemoryReservation(memory.is64);
        continue;
      }
      const exported = exports[memory.exportNames[0]!];
      if (isMemory(exported) && WeakMapGet(counted, exported) === undefined) countMemory(exported, memory.is64, memory.maximumPages);
    }
    if (keptBytes === 0) return;
    // Held by the instance. When the exports could not be read, the memories it exports
    // are among those counted here and may outlive it: they hold the count too.
    const holders = ObjectSetPrototypeOf([instance], null) as object[];
    if (!info.exportsKnown) {
      const names = ObjectKeys(exports);
      for (let i = 0; i < names.length; i++) {
        const value = exports[names[i]!];
        if (isMemory(value) && WeakMapGet(counted, value) === undefined) holders[holders.length] = value;
      }
    }
    track(holders, keptBytes, undefined, keptReserved);
  };

  const Instance = function Instance(this: unknown, module: object, imports?: unknown): object {
    if (new.target === undefined) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    const info = moduleOf(module);
    roomForInstance(info);
    const instance = ReflectConstruct(NativeInstance, [module, imports], new.target);
    roomForInstance(info);
    countInstance(info, instance);
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
    const limitPages = MathFloor(instanceMemoryLimitBytes() / wasmPageBytes);
    const what = `a WebAssembly.Memory of ${initialPages} pages`;
    if (initialPages > limitPages) memoryLimitReached(what);
    ensureRoom(initialPages * wasmPageBytes, what, wasmMemoryReservation(is64));
    const cappedPages = MathMin(maximumPages, limitPages);
    fresh.maximum = is64 ? BigIntCtor(cappedPages) : cappedPages;
    const memory = ReflectConstruct(NativeMemory, [fresh], new.target);
    countMemory(memory, is64, cappedPages);
    return memory;
  };

  // Named and shaped like what it replaces (WebAssembly JS API §Memory.grow).
  const grow = {
    grow(this: object, delta: unknown): unknown {
      const memory = WeakMapGet(counted, this);
      // Not a memory (the native method throws), or one counted at its maximum already.
      if (memory === undefined) return ReflectApply(nativeGrow, this, [delta]);
      const value = toLimit(delta, memory.is64);
      const deltaPages = value === undefined ? -1 : pages(value);
      if (deltaPages > 0) {
        const grownBytes = memoryBytes(this) + deltaPages * wasmPageBytes;
        // Past its maximum the native method throws a RangeError and commits nothing.
        if (grownBytes <= memory.maximumPages * wasmPageBytes) {
          ensureRoom(grownBytes - memory.committed.bytes, `WebAssembly.Memory.prototype.grow by ${deltaPages} pages`);
        }
      }
      const result: unknown = ReflectApply(nativeGrow, this, [value]);
      setCommitted(memory.committed, memoryBytes(this));
      return result;
    },
  }.grow;

  return {
    compileShipped(bytes) {
      const limited = limitModuleMemories(bytes, MathFloor(instanceMemoryLimitBytes() / wasmPageBytes));
      if (limited.refused !== undefined) throw new CompileError(limited.refused);
      const module = new NativeModule(limited.bytes as never);
      WeakMapSet(shipped, module, shippedModule(limited));
      return module;
    },
    isShippedModule: (value) => WeakMapGet(shipped, value) !== undefined,
    instantiate(module, imports) {
      let info: ShippedModule;
      try {
        info = moduleOf(module);
        roomForInstance(info);
      } catch (error) {
        return PromiseReject(error);
      }
      const instantiated = ReflectApply(nativeInstantiate, wasm, [module, imports]) as Promise<object>;
      return PromisePrototypeThen(instantiated, (instance) => {
        roomForInstance(info);
        countInstance(info, instance);
        return instance;
      });
    },
    install(define) {
      standIn(Instance, NativeInstance, "Instance");
      standIn(Memory, NativeMemory, "Memory");
      ObjectDefineProperty(grow, "length", { value: 1 });
      ObjectDefineProperty(NativeMemory.prototype, "grow", {
        value: grow,
        writable: growDescriptor.writable,
        enumerable: growDescriptor.enumerable,
        configurable: growDescriptor.configurable,
      });
      define(wasm, "Instance", Instance);
      define(wasm, "Memory", Memory);
    },
  };
}
