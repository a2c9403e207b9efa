/**
 * ReadableStreamTee and ReadableStreamDefaultTee (Streams §4.9.1).
 */
import {
  ArrayBufferPrototypeSlice,
  isArrayBuffer,
  ArrayBufferIsView,
  isDataView,
  typedArrayLength,
  typedArrayName,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";
import { newDeferred, promiseResolvedWith, queueMicrotaskSteps, uponRejection } from "./promise-helpers.ts";
import { readableByteStreamTee } from "./readable-byte-stream-tee.ts";
import { defaultControllerClose, defaultControllerEnqueue, defaultControllerError } from "./readable-stream-default-controller.ts";
import { newDefaultReaderSlots, readableStreamCancel, readableStreamDefaultReaderRead } from "./readable-stream-ops.ts";
import type { DefaultControllerSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { createReadableStream } from "./readable-stream.ts";

/** ReadableStreamTee: byte streams tee into byte streams, others into default streams. */
export function readableStreamTee(stream: ReadableStreamSlots, cloneForBranch2: boolean): [ReadableStreamSlots, ReadableStreamSlots] {
  if (stream.controller.kind === "byte") return readableByteStreamTee(stream);
  return readableStreamDefaultTee(stream, cloneForBranch2);
}

/**
 * StructuredClone for the chunks a tee clones (only Fetch's "clone a body" asks for it).
 * Buffers and views are deep-copied, which is what matters: each branch must own its bytes.
 * Other objects are passed through as-is — a deliberate simplification, since the
 * isolate has no structuredClone and body chunks must be Uint8Arrays anyway.
 */
function cloneChunk(chunk: unknown): unknown {
  if (typeof chunk !== "object" || chunk === null) return chunk;
  if (isArrayBuffer(chunk)) return ArrayBufferPrototypeSlice(chunk);
  if (ArrayBufferIsView(chunk)) {
    const buffer = ArrayBufferPrototypeSlice(viewBuffer(chunk));
    if (isDataView(chunk)) return new DataView(buffer, viewByteOffset(chunk), viewByteLength(chunk));
    const ctor = (globalTypedArrays as Record<string, new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView>)[typedArrayName(chunk)!]!;
    return new ctor(buffer, viewByteOffset(chunk), typedArrayLength(chunk));
  }
  return chunk;
}

const globalTypedArrays = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/** ReadableStreamDefaultTee. */
function readableStreamDefaultTee(stream: ReadableStreamSlots, cloneForBranch2: boolean): [ReadableStreamSlots, ReadableStreamSlots] {
  const reader = newDefaultReaderSlots(stream);
  let reading = false;
  let readAgain = false;
  let canceled1 = false;
  let canceled2 = false;
  let reason1: unknown;
  let reason2: unknown;
  let branch1!: ReadableStreamSlots;
  let branch2!: ReadableStreamSlots;
  const cancelPromise = newDeferred<undefined>();

  const pullAlgorithm = (): Promise<undefined> => {
    if (reading) {
      readAgain = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    readableStreamDefaultReaderRead(reader, {
      chunkSteps: (chunk) => {
        // The microtask lets a pending close or error reach the branches first (spec note).
        queueMicrotaskSteps(() => {
          readAgain = false;
          const chunk1 = chunk;
          let chunk2 = chunk;
          if (!canceled2 && cloneForBranch2) {
            try {
              chunk2 = cloneChunk(chunk2);
            } catch (e) {
              defaultControllerError(branch1.controller as DefaultControllerSlots, e);
              defaultControllerError(branch2.controller as DefaultControllerSlots, e);
              cancelPromise.resolve(readableStreamCancel(stream, e));
              return;
            }
          }
          if (!canceled1) defaultControllerEnqueue(branch1.controller as DefaultControllerSlots, chunk1);
          if (!canceled2) defaultControllerEnqueue(branch2.controller as DefaultControllerSlots, chunk2);
          reading = false;
          if (readAgain) pullAlgorithm();
        });
      },
      closeSteps: () => {
        reading = false;
        if (!canceled1) defaultControllerClose(branch1.controller as DefaultControllerSlots);
        if (!canceled2) defaultControllerClose(branch2.controller as DefaultControllerSlots);
        if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
      },
      errorSteps: () => {
        reading = false;
      },
    });
    return promiseResolvedWith(undefined);
  };

  const cancel1Algorithm = (reason: unknown): Promise<undefined> => {
    canceled1 = true;
    reason1 = reason;
    if (canceled2) cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    return cancelPromise.promise;
  };
  const cancel2Algorithm = (reason: unknown): Promise<undefined> => {
    canceled2 = true;
    reason2 = reason;
    if (canceled1) cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    return cancelPromise.promise;
  };
  const startAlgorithm = (): undefined => undefined;
  branch1 = createReadableStream(startAlgorithm, pullAlgorithm, cancel1Algorithm);
  branch2 = createReadableStream(startAlgorithm, pullAlgorithm, cancel2Algorithm);
  uponRejection(reader.closedPromise.promise, (r) => {
    defaultControllerError(branch1.controller as DefaultControllerSlots, r);
    defaultControllerError(branch2.controller as DefaultControllerSlots, r);
    if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
  });
  return [branch1, branch2];
}
