/**
 * CompressionStream and DecompressionStream (WICG Compression Streams): TransformStreams
 * whose work is done by zlib in the host. Each chunk is a round trip: the host answers
 * through the dispatcher's `zlibDone`, which settles the transform's promise.
 */
import { copyBytes, emit } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { constructContext, defineInterface, illegalInvocation, requireArgs, toStringES } from "./web/idl.ts";
import type { ReadableStream } from "./web/readable-stream.ts";
import { TransformStream } from "./web/transform-stream.ts";
import type { WritableStream } from "./web/writable-stream.ts";

const formats = ["gzip", "deflate", "deflate-raw", "brotli"];
const waiting = new Map<number, { invocation: number; deliver(output: Uint8Array | null): void; resolve(): void; reject(error: unknown): void }>();
let nextStream = 1;
let nextOp = 1;

/** The host's answer to a zlib write (see host-ops.ts). */
export function zlibDone(op: number, output: Uint8Array | null, error: string): void {
  const w = waiting.get(op);
  if (w === undefined) return;
  waiting.delete(op);
  enterInvocation(w.invocation);
  // Output made before a failure is enqueued first, as a transform that enqueues and throws.
  w.deliver(output);
  if (error !== "") w.reject(new TypeError(`${error}`));
  else w.resolve();
}

interface Controller {
  enqueue(chunk: unknown): void;
}

function create(self: object, iface: string, format: unknown, compress: boolean, pairs: WeakMap<object, { readable: ReadableStream; writable: WritableStream }>): void {
  const context = constructContext(iface);
  const f = toStringES(format);
  if (!formats.includes(f)) throw new TypeError(`${context}: Unsupported compression format: '${f}'`);
  const invocation = currentInvocation();
  if (invocation === 0) throw new Error(`${iface} cannot be created at module scope: it works for a request. Create it inside fetch().`);
  const stream = nextStream++;
  // The host stream is opened on the first write and freed when the stream ends, errors or
  // is cancelled: only streams in use count against the per-request limit.
  let state: "new" | "open" | "done" = "new";
  const close = () => {
    if (state === "open") emit(["zlibClose", invocation, stream]);
    state = "done";
  };
  const write = (bytes: Uint8Array, final: boolean, controller: Controller) =>
    new Promise<void>((resolve, reject) => {
      if (state === "done") return reject(new TypeError(`${iface}: the stream is closed`));
      if (state === "new") {
        emit(["zlibOpen", invocation, stream, f, compress]);
        state = "open";
      }
      const op = nextOp++;
      waiting.set(op, {
        invocation,
        deliver(output) {
          if (output !== null && output.byteLength > 0) controller.enqueue(output);
        },
        resolve() {
          if (final) state = "done";
          resolve();
        },
        reject(error) {
          state = "done"; // the host already dropped it
          reject(error);
        },
      });
      emit(["zlibWrite", invocation, stream, op, copyBytes(bytes), final]);
    });
  const transform = new TransformStream({
    transform(chunk: unknown, controller: Controller) {
      let bytes: Uint8Array;
      if (chunk instanceof ArrayBuffer) bytes = new Uint8Array(chunk);
      else if (ArrayBuffer.isView(chunk)) bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      else {
        close();
        throw new TypeError(`${iface}: chunks must be an ArrayBuffer or ArrayBufferView`);
      }
      return write(bytes, false, controller);
    },
    flush(controller: Controller) {
      return write(new Uint8Array(0), true, controller);
    },
    cancel() {
      close();
    },
  });
  pairs.set(self, { readable: transform.readable as ReadableStream, writable: transform.writable as WritableStream });
}

const compressionPairs = new WeakMap<object, { readable: ReadableStream; writable: WritableStream }>();
export class CompressionStream {
  constructor(format: string) {
    requireArgs(arguments.length, 1, constructContext("CompressionStream"));
    create(this, "CompressionStream", format, true, compressionPairs);
  }
  get readable(): ReadableStream<Uint8Array> {
    const p = compressionPairs.get(this);
    if (p === undefined) throw illegalInvocation();
    return p.readable as ReadableStream<Uint8Array>;
  }
  get writable(): WritableStream<ArrayBuffer | ArrayBufferView> {
    const p = compressionPairs.get(this);
    if (p === undefined) throw illegalInvocation();
    return p.writable as WritableStream<ArrayBuffer | ArrayBufferView>;
  }
}
defineInterface(CompressionStream, "CompressionStream");

const decompressionPairs = new WeakMap<object, { readable: ReadableStream; writable: WritableStream }>();
export class DecompressionStream {
  constructor(format: string) {
    requireArgs(arguments.length, 1, constructContext("DecompressionStream"));
    create(this, "DecompressionStream", format, false, decompressionPairs);
  }
  get readable(): ReadableStream<Uint8Array> {
    const p = decompressionPairs.get(this);
    if (p === undefined) throw illegalInvocation();
    return p.readable as ReadableStream<Uint8Array>;
  }
  get writable(): WritableStream<ArrayBuffer | ArrayBufferView> {
    const p = decompressionPairs.get(this);
    if (p === undefined) throw illegalInvocation();
    return p.writable as WritableStream<ArrayBuffer | ArrayBufferView>;
  }
}
defineInterface(DecompressionStream, "DecompressionStream");
