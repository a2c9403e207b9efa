/**
 * ByteLengthQueuingStrategy and CountQueuingStrategy (Streams §7), plus the §7.4
 * abstract operations ExtractHighWaterMark and ExtractSizeAlgorithm that every stream
 * constructor runs on its `strategy` argument.
 */
import {
  constructContext,
  defineInterface,
  dictGet,
  getterContext,
  illegalInvocation,
  requireArgs,
  toCallback,
  toDictionary,
  toUnrestrictedDouble,
} from "./idl.ts";
import { ReflectApply } from "./intrinsics.ts";

/** A chunk's size as computed by a strategy. */
export type QueuingStrategySize<T = unknown> = (chunk: T) => number;

/** The WebIDL QueuingStrategy dictionary. */
export interface QueuingStrategy<T = unknown> {
  highWaterMark?: number;
  size?: QueuingStrategySize<T>;
}

/** The WebIDL QueuingStrategyInit dictionary. */
export interface QueuingStrategyInit {
  highWaterMark: number;
}

/** A QueuingStrategy after WebIDL conversion: members present only when given. */
export interface ConvertedStrategy {
  highWaterMark: number | undefined;
  size: QueuingStrategySize | undefined;
}

/** WebIDL conversion of a QueuingStrategy argument (members read in lexicographic order). */
export function convertQueuingStrategy(value: unknown, context: string): ConvertedStrategy {
  const dict = toDictionary(value, context, "QueuingStrategy");
  const hwm = dictGet(dict, "highWaterMark");
  const highWaterMark = hwm === undefined ? undefined : toUnrestrictedDouble(hwm);
  const size = dictGet(dict, "size");
  return {
    highWaterMark,
    size: size === undefined ? undefined : toCallback<QueuingStrategySize>(size, `${context}: Failed to read the 'size' property from 'QueuingStrategy'`),
  };
}

/** §7.4 ExtractHighWaterMark. */
export function extractHighWaterMark(strategy: ConvertedStrategy, defaultHWM: number): number {
  const hwm = strategy.highWaterMark;
  if (hwm === undefined) return defaultHWM;
  if (hwm !== hwm || hwm < 0) throw new RangeError("Invalid highWaterMark");
  return hwm;
}

function sizeOne(): number {
  return 1;
}

/** §7.4 ExtractSizeAlgorithm: the size callback, invoked with an undefined `this`, its result converted to a double. */
export function extractSizeAlgorithm(strategy: ConvertedStrategy): QueuingStrategySize {
  const size = strategy.size;
  if (size === undefined) return sizeOne;
  return (chunk) => toUnrestrictedDouble(ReflectApply(size, undefined, [chunk]));
}

// §7.2.1 / §7.3.1: one size function per realm, shared by every instance, so
// `new ByteLengthQueuingStrategy(a).size === new ByteLengthQueuingStrategy(b).size`.
// Arrow functions: like built-in functions they are not constructors.
// Their lengths are the spec's: 1 for the byte-length size (it reads its chunk), 0 for
// the count size (CreateBuiltinFunction(steps, 0, "size")).
const byteLengthSizeFunction = (chunk: unknown): number => (chunk as { byteLength: number }).byteLength;
nameAndLength(byteLengthSizeFunction, 1);
const countSizeFunction = (_chunk: unknown): number => 1;
nameAndLength(countSizeFunction, 0);

function nameAndLength(fn: (chunk: unknown) => number, length: number): void {
  Object.defineProperty(fn, "name", { value: "size", configurable: true });
  Object.defineProperty(fn, "length", { value: length, configurable: true });
}

function readInit(init: unknown, iface: string): number {
  const context = constructContext(iface);
  const dict = toDictionary(init, context, "QueuingStrategyInit");
  const hwm = dictGet(dict, "highWaterMark");
  if (hwm === undefined) {
    throw new TypeError(`${context}: Failed to read the 'highWaterMark' property from 'QueuingStrategyInit': Required member is undefined.`);
  }
  return toUnrestrictedDouble(hwm);
}

/** §7.2 ByteLengthQueuingStrategy: a chunk weighs its byteLength. */
export class ByteLengthQueuingStrategy {
  #highWaterMark: number;

  constructor(init: QueuingStrategyInit) {
    requireArgs(arguments.length, 1, constructContext("ByteLengthQueuingStrategy"));
    this.#highWaterMark = readInit(init, "ByteLengthQueuingStrategy");
  }

  get highWaterMark(): number {
    if (!(#highWaterMark in (this as object))) throw illegalInvocation();
    return this.#highWaterMark;
  }

  get size(): (chunk: ArrayBufferView) => number {
    if (!(#highWaterMark in (this as object))) {
      throw new TypeError(`${getterContext("ByteLengthQueuingStrategy", "size")}: Illegal invocation`);
    }
    return byteLengthSizeFunction;
  }
}
defineInterface(ByteLengthQueuingStrategy, "ByteLengthQueuingStrategy");

/** §7.3 CountQueuingStrategy: every chunk weighs 1. */
export class CountQueuingStrategy {
  #highWaterMark: number;

  constructor(init: QueuingStrategyInit) {
    requireArgs(arguments.length, 1, constructContext("CountQueuingStrategy"));
    this.#highWaterMark = readInit(init, "CountQueuingStrategy");
  }

  get highWaterMark(): number {
    if (!(#highWaterMark in (this as object))) throw illegalInvocation();
    return this.#highWaterMark;
  }

  get size(): (chunk: unknown) => 1 {
    if (!(#highWaterMark in (this as object))) {
      throw new TypeError(`${getterContext("CountQueuingStrategy", "size")}: Illegal invocation`);
    }
    return countSizeFunction as (chunk: unknown) => 1;
  }
}
defineInterface(CountQueuingStrategy, "CountQueuingStrategy");
