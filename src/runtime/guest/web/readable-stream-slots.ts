/**
 * The internal slots of ReadableStream and its readers and controllers (Streams §4), as
 * plain records. Public objects hold their record in a #private field, so user code can
 * never reach a slot; the abstract operations work on the records directly.
 */
import type { Deferred } from "./promise-helpers.ts";
import type { QueuingStrategySize } from "./queuing-strategies.ts";
import type { SimpleQueue, ValueWithSize } from "./stream-queue.ts";
import type { ReadableStream } from "./readable-stream.ts";
import type { ReadableStreamDefaultController } from "./readable-stream-default-controller.ts";
import type { ReadableByteStreamController } from "./readable-byte-stream-controller.ts";
import type { ReadableStreamBYOBRequest } from "./readable-stream-byob-request.ts";

export type ReadableStreamState = "readable" | "closed" | "errored";

/** §4.2.2 ReadableStream internal slots. */
export interface ReadableStreamSlots {
  state: ReadableStreamState;
  storedError: unknown;
  disturbed: boolean;
  reader: ReaderSlots | undefined;
  controller: ControllerSlots;
  /** The public object; always set right after creation. */
  object: ReadableStream;
}

/** §4.3.1 read request. */
export interface ReadRequest {
  chunkSteps(chunk: unknown): void;
  closeSteps(): void;
  errorSteps(e: unknown): void;
}

/** §4.5.1 read-into request. */
export interface ReadIntoRequest {
  chunkSteps(chunk: ArrayBufferView): void;
  closeSteps(chunk: ArrayBufferView | undefined): void;
  errorSteps(e: unknown): void;
}

/** Slots shared by both reader kinds (§4.3.2, §4.5.2). */
interface ReaderSlotsBase {
  stream: ReadableStreamSlots | undefined;
  closedPromise: Deferred<undefined>;
}

export interface DefaultReaderSlots extends ReaderSlotsBase {
  kind: "default";
  readRequests: SimpleQueue<ReadRequest>;
}

export interface BYOBReaderSlots extends ReaderSlotsBase {
  kind: "byob";
  readIntoRequests: SimpleQueue<ReadIntoRequest>;
}

export type ReaderSlots = DefaultReaderSlots | BYOBReaderSlots;

export type PullAlgorithm = () => Promise<unknown>;
export type CancelAlgorithm = (reason: unknown) => Promise<unknown>;
export type StartAlgorithm = () => unknown;

/** §4.7.2 ReadableStreamDefaultController internal slots. */
export interface DefaultControllerSlots {
  kind: "default";
  stream: ReadableStreamSlots;
  queue: SimpleQueue<ValueWithSize<unknown>>;
  queueTotalSize: number;
  started: boolean;
  closeRequested: boolean;
  pullAgain: boolean;
  pulling: boolean;
  strategyHWM: number;
  strategySizeAlgorithm: QueuingStrategySize | undefined;
  pullAlgorithm: PullAlgorithm | undefined;
  cancelAlgorithm: CancelAlgorithm | undefined;
  object: ReadableStreamDefaultController;
}

/** §4.7.3 pull-into descriptor. */
export interface PullIntoDescriptor {
  buffer: ArrayBuffer;
  bufferByteLength: number;
  byteOffset: number;
  byteLength: number;
  bytesFilled: number;
  minimumFill: number;
  elementSize: number;
  viewConstructor: ViewConstructor;
  readerType: "default" | "byob" | "none";
}

/** A typed array constructor or DataView, as a pull-into descriptor remembers it. */
export type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

/** §4.7.3 readable byte stream queue entry. */
export interface ByteQueueEntry {
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

/** §4.7.3 ReadableByteStreamController internal slots. */
export interface ByteControllerSlots {
  kind: "byte";
  stream: ReadableStreamSlots;
  queue: SimpleQueue<ByteQueueEntry>;
  queueTotalSize: number;
  started: boolean;
  closeRequested: boolean;
  pullAgain: boolean;
  pulling: boolean;
  strategyHWM: number;
  autoAllocateChunkSize: number | undefined;
  byobRequest: BYOBRequestSlots | null;
  pendingPullIntos: PullIntoDescriptor[];
  pullAlgorithm: PullAlgorithm | undefined;
  cancelAlgorithm: CancelAlgorithm | undefined;
  object: ReadableByteStreamController;
}

/** §4.8.2 ReadableStreamBYOBRequest internal slots. */
export interface BYOBRequestSlots {
  controller: ByteControllerSlots | undefined;
  view: ArrayBufferView<ArrayBuffer> | null;
  object: ReadableStreamBYOBRequest;
}

export type ControllerSlots = DefaultControllerSlots | ByteControllerSlots;
