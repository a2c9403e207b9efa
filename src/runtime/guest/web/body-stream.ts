/**
 * The two stream operations Fetch and the File API build on: a ReadableStream holding a
 * known byte sequence, and "read all bytes" (Streams §4.9 "reading", used by Fetch's
 * "fully read" a body).
 */
import { ArrayPrototypePush, Uint8ArrayCtor, Uint8ArrayPrototypeSet, Uint8ArrayPrototypeSlice, isUint8Array } from "./intrinsics.ts";
import { promiseResolvedWith } from "./promise-helpers.ts";
import { newDefaultReaderSlots, readableStreamDefaultReaderRead } from "./readable-stream-ops.ts";
import type { ReadableStreamSlots } from "./readable-stream-slots.ts";
import { createReadableByteStream } from "./readable-stream.ts";
import { byteControllerClose, byteControllerEnqueue } from "./readable-byte-stream-controller-ops.ts";
import type { ByteControllerSlots } from "./readable-stream-slots.ts";

/**
 * A readable byte stream ("set up with byte reading support") that yields `bytes` as one
 * chunk and then closes. `copy` false hands the bytes over: the caller must not keep them.
 */
export function createByteStreamFromBytes(bytes: Uint8Array<ArrayBuffer>, copy: boolean): ReadableStreamSlots {
  const stream = createReadableByteStream(
    () => undefined,
    () => promiseResolvedWith(undefined),
    () => promiseResolvedWith(undefined),
  );
  const controller = stream.controller as ByteControllerSlots;
  if (bytes.length > 0) byteControllerEnqueue(controller, copy ? Uint8ArrayPrototypeSlice(bytes) : bytes);
  byteControllerClose(controller);
  return stream;
}

/** Concatenate chunks into one Uint8Array (no copy for a single chunk). */
export function concatBytes(chunks: Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  if (chunks.length === 1 && chunks[0]!.length === chunks[0]!.buffer.byteLength) return chunks[0] as Uint8Array<ArrayBuffer>;
  const out = new Uint8ArrayCtor(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    Uint8ArrayPrototypeSet(out, chunks[i]!, offset);
    offset += chunks[i]!.length;
  }
  return out;
}

/**
 * Acquire a reader for `stream` and "read all bytes" from it. The reader is never released,
 * as in the spec. A chunk that is not a Uint8Array fails the read with a TypeError.
 * Throws synchronously if the stream is locked (Fetch's "getting a reader" step).
 */
export function readAllBytes(
  stream: ReadableStreamSlots,
  successSteps: (bytes: Uint8Array<ArrayBuffer>) => void,
  failureSteps: (e: unknown) => void,
): void {
  const reader = newDefaultReaderSlots(stream);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let inRead = false;
  let readAgain = false;
  const readRequest = {
    chunkSteps(chunk: unknown): void {
      if (!isUint8Array(chunk)) {
        failureSteps(new TypeError("Received non-Uint8Array chunk"));
        return;
      }
      ArrayPrototypePush(chunks, chunk);
      total += chunk.length;
      // Chunks already queued arrive synchronously; loop instead of recursing per chunk.
      if (inRead) readAgain = true;
      else readLoop();
    },
    closeSteps(): void {
      successSteps(concatBytes(chunks, total));
    },
    errorSteps(e: unknown): void {
      failureSteps(e);
    },
  };
  function readLoop(): void {
    do {
      readAgain = false;
      inRead = true;
      readableStreamDefaultReaderRead(reader, readRequest);
      inRead = false;
    } while (readAgain);
  }
  readLoop();
}
