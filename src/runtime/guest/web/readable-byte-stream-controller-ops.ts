/**
 * Readable byte stream controller abstract operations (Streams §4.9.5, including the
 * `min` option of BYOB reads), plus the ArrayBuffer helpers of §8.3.
 */
import {
  ArrayBufferPrototypeGetByteLength,
  ArrayBufferPrototypeGetDetached,
  ArrayBufferPrototypeSlice,
  ArrayBufferPrototypeTransfer,
  DataViewCtor,
  MathMin,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSet,
  typedArrayName,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";
import { promiseRejectedWith, promiseResolvedWith, uponSettle } from "./promise-helpers.ts";
import {
  readableStreamAddReadIntoRequest,
  readableStreamAddReadRequest,
  readableStreamClose,
  readableStreamError,
  readableStreamFulfillReadIntoRequest,
  readableStreamFulfillReadRequest,
  readableStreamGetNumReadIntoRequests,
  readableStreamGetNumReadRequests,
  readableStreamHasBYOBReader,
  readableStreamHasDefaultReader,
} from "./readable-stream-ops.ts";
import type {
  ByteControllerSlots,
  BYOBRequestSlots,
  CancelAlgorithm,
  DefaultReaderSlots,
  PullAlgorithm,
  PullIntoDescriptor,
  ReadIntoRequest,
  ReadRequest,
  ReadableStreamSlots,
  StartAlgorithm,
  ViewConstructor,
} from "./readable-stream-slots.ts";
import { SimpleQueue } from "./stream-queue.ts";
import { createByteControllerObject } from "./readable-byte-stream-controller.ts";
import { createBYOBRequestObject } from "./readable-stream-byob-request.ts";
import { ReflectApply } from "./intrinsics.ts";

// --- §8.3 ArrayBuffer helpers ---------------------------------------------------------------

export function isDetachedBuffer(buffer: ArrayBuffer): boolean {
  return ArrayBufferPrototypeGetDetached(buffer);
}

/** TransferArrayBuffer: detach `buffer` and return a new ArrayBuffer over the same bytes. */
export function transferArrayBuffer(buffer: ArrayBuffer): ArrayBuffer {
  return ArrayBufferPrototypeTransfer(buffer);
}

/** CloneAsUint8Array. */
export function cloneAsUint8Array(view: ArrayBufferView): Uint8Array<ArrayBuffer> {
  const offset = viewByteOffset(view);
  const buffer = ArrayBufferPrototypeSlice(viewBuffer(view) as ArrayBuffer, offset, offset + viewByteLength(view));
  return new Uint8ArrayCtor(buffer);
}

function copyDataBlockBytes(to: ArrayBuffer, toIndex: number, from: ArrayBuffer, fromIndex: number, count: number): void {
  Uint8ArrayPrototypeSet(new Uint8ArrayCtor(to, toIndex, count), new Uint8ArrayCtor(from, fromIndex, count));
}

const typedArrayConstructors: Record<string, [ViewConstructor, number]> = {
  Int8Array: [Int8Array as unknown as ViewConstructor, 1],
  Uint8Array: [Uint8Array as unknown as ViewConstructor, 1],
  Uint8ClampedArray: [Uint8ClampedArray as unknown as ViewConstructor, 1],
  Int16Array: [Int16Array as unknown as ViewConstructor, 2],
  Uint16Array: [Uint16Array as unknown as ViewConstructor, 2],
  Int32Array: [Int32Array as unknown as ViewConstructor, 4],
  Uint32Array: [Uint32Array as unknown as ViewConstructor, 4],
  Float32Array: [Float32Array as unknown as ViewConstructor, 4],
  Float64Array: [Float64Array as unknown as ViewConstructor, 8],
  BigInt64Array: [BigInt64Array as unknown as ViewConstructor, 8],
  BigUint64Array: [BigUint64Array as unknown as ViewConstructor, 8],
};
const Float16ArrayCtor = (globalThis as { Float16Array?: ViewConstructor }).Float16Array;
if (Float16ArrayCtor !== undefined) typedArrayConstructors["Float16Array"] = [Float16ArrayCtor, 2];

/** The constructor and element size of a view (Table 71 of ECMAScript; DataView is 1). */
export function viewConstructorAndElementSize(view: ArrayBufferView): [ViewConstructor, number] {
  const name = typedArrayName(view);
  if (name === undefined) return [DataViewCtor as unknown as ViewConstructor, 1];
  return typedArrayConstructors[name]!;
}

function construct(ctor: ViewConstructor, buffer: ArrayBuffer, byteOffset: number, length: number): ArrayBufferView<ArrayBuffer> {
  return new ctor(buffer, byteOffset, length) as ArrayBufferView<ArrayBuffer>;
}

// --- [[CancelSteps]], [[PullSteps]], [[ReleaseSteps]] (§4.7.4) -----------------------------

export function byteControllerCancelSteps(controller: ByteControllerSlots, reason: unknown): Promise<unknown> {
  byteControllerClearPendingPullIntos(controller);
  resetByteQueue(controller);
  const result = controller.cancelAlgorithm!(reason);
  byteControllerClearAlgorithms(controller);
  return result;
}

export function byteControllerPullSteps(controller: ByteControllerSlots, readRequest: ReadRequest): void {
  const stream = controller.stream;
  if (controller.queueTotalSize > 0) {
    byteControllerFillReadRequestFromQueue(controller, readRequest);
    return;
  }
  const autoAllocateChunkSize = controller.autoAllocateChunkSize;
  if (autoAllocateChunkSize !== undefined) {
    let buffer: ArrayBuffer;
    try {
      buffer = new ArrayBuffer(autoAllocateChunkSize);
    } catch (e) {
      readRequest.errorSteps(e);
      return;
    }
    controller.pendingPullIntos.push({
      buffer,
      bufferByteLength: autoAllocateChunkSize,
      byteOffset: 0,
      byteLength: autoAllocateChunkSize,
      bytesFilled: 0,
      minimumFill: 1,
      elementSize: 1,
      viewConstructor: Uint8ArrayCtor as unknown as ViewConstructor,
      readerType: "default",
    });
  }
  readableStreamAddReadRequest(stream, readRequest);
  byteControllerCallPullIfNeeded(controller);
}

export function byteControllerReleaseSteps(controller: ByteControllerSlots): void {
  if (controller.pendingPullIntos.length > 0) {
    const first = controller.pendingPullIntos[0]!;
    first.readerType = "none";
    controller.pendingPullIntos = [first];
  }
}

function resetByteQueue(controller: ByteControllerSlots): void {
  controller.queue = new SimpleQueue();
  controller.queueTotalSize = 0;
}

// --- §4.9.5 ------------------------------------------------------------------------------------

/** ReadableByteStreamControllerCallPullIfNeeded. */
export function byteControllerCallPullIfNeeded(controller: ByteControllerSlots): void {
  if (!byteControllerShouldCallPull(controller)) return;
  if (controller.pulling) {
    controller.pullAgain = true;
    return;
  }
  controller.pulling = true;
  const pullPromise = controller.pullAlgorithm!();
  uponSettle(
    pullPromise,
    () => {
      controller.pulling = false;
      if (controller.pullAgain) {
        controller.pullAgain = false;
        byteControllerCallPullIfNeeded(controller);
      }
    },
    (e) => byteControllerError(controller, e),
  );
}

/** ReadableByteStreamControllerClearAlgorithms. */
function byteControllerClearAlgorithms(controller: ByteControllerSlots): void {
  controller.pullAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
}

/** ReadableByteStreamControllerClearPendingPullIntos. */
function byteControllerClearPendingPullIntos(controller: ByteControllerSlots): void {
  byteControllerInvalidateBYOBRequest(controller);
  controller.pendingPullIntos = [];
}

/** ReadableByteStreamControllerClose. */
export function byteControllerClose(controller: ByteControllerSlots): void {
  const stream = controller.stream;
  if (controller.closeRequested || stream.state !== "readable") return;
  if (controller.queueTotalSize > 0) {
    controller.closeRequested = true;
    return;
  }
  if (controller.pendingPullIntos.length > 0) {
    const first = controller.pendingPullIntos[0]!;
    if (first.bytesFilled % first.elementSize !== 0) {
      const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
      byteControllerError(controller, e);
      throw e;
    }
  }
  byteControllerClearAlgorithms(controller);
  readableStreamClose(stream);
}

/** ReadableByteStreamControllerCommitPullIntoDescriptor. */
function byteControllerCommitPullIntoDescriptor(stream: ReadableStreamSlots, pullIntoDescriptor: PullIntoDescriptor): void {
  let done = false;
  if (stream.state === "closed") done = true;
  const filledView = byteControllerConvertPullIntoDescriptor(pullIntoDescriptor);
  if (pullIntoDescriptor.readerType === "default") readableStreamFulfillReadRequest(stream, filledView, done);
  else readableStreamFulfillReadIntoRequest(stream, filledView, done);
}

/** ReadableByteStreamControllerConvertPullIntoDescriptor. */
function byteControllerConvertPullIntoDescriptor(d: PullIntoDescriptor): ArrayBufferView<ArrayBuffer> {
  const buffer = transferArrayBuffer(d.buffer);
  return construct(d.viewConstructor, buffer, d.byteOffset, d.bytesFilled / d.elementSize);
}

/** ReadableByteStreamControllerEnqueue. */
export function byteControllerEnqueue(controller: ByteControllerSlots, chunk: ArrayBufferView): void {
  const stream = controller.stream;
  if (controller.closeRequested || stream.state !== "readable") return;
  const buffer = viewBuffer(chunk) as ArrayBuffer;
  const byteOffset = viewByteOffset(chunk);
  const byteLength = viewByteLength(chunk);
  if (isDetachedBuffer(buffer)) throw new TypeError("chunk's buffer is detached and so cannot be enqueued");
  const transferredBuffer = transferArrayBuffer(buffer);
  if (controller.pendingPullIntos.length > 0) {
    const first = controller.pendingPullIntos[0]!;
    if (isDetachedBuffer(first.buffer)) {
      throw new TypeError("The BYOB request's buffer has been detached and so cannot be filled with an enqueued chunk");
    }
    byteControllerInvalidateBYOBRequest(controller);
    first.buffer = transferArrayBuffer(first.buffer);
    if (first.readerType === "none") byteControllerEnqueueDetachedPullIntoToQueue(controller, first);
  }
  if (readableStreamHasDefaultReader(stream)) {
    byteControllerProcessReadRequestsUsingQueue(controller);
    if (readableStreamGetNumReadRequests(stream) === 0) {
      byteControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
    } else {
      if (controller.pendingPullIntos.length > 0) byteControllerShiftPendingPullInto(controller);
      const transferredView = new Uint8ArrayCtor(transferredBuffer, byteOffset, byteLength);
      readableStreamFulfillReadRequest(stream, transferredView, false);
    }
  } else if (readableStreamHasBYOBReader(stream)) {
    byteControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
    const filledPullIntos = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
    for (let i = 0; i < filledPullIntos.length; i++) byteControllerCommitPullIntoDescriptor(stream, filledPullIntos[i]!);
  } else {
    byteControllerEnqueueChunkToQueue(controller, transferredBuffer, byteOffset, byteLength);
  }
  byteControllerCallPullIfNeeded(controller);
}

/** ReadableByteStreamControllerEnqueueChunkToQueue. */
function byteControllerEnqueueChunkToQueue(controller: ByteControllerSlots, buffer: ArrayBuffer, byteOffset: number, byteLength: number): void {
  controller.queue.push({ buffer, byteOffset, byteLength });
  controller.queueTotalSize += byteLength;
}

/** ReadableByteStreamControllerEnqueueClonedChunkToQueue. */
function byteControllerEnqueueClonedChunkToQueue(controller: ByteControllerSlots, buffer: ArrayBuffer, byteOffset: number, byteLength: number): void {
  let clone: ArrayBuffer;
  try {
    clone = ArrayBufferPrototypeSlice(buffer, byteOffset, byteOffset + byteLength);
  } catch (e) {
    byteControllerError(controller, e);
    throw e;
  }
  byteControllerEnqueueChunkToQueue(controller, clone, 0, byteLength);
}

/** ReadableByteStreamControllerEnqueueDetachedPullIntoToQueue. */
function byteControllerEnqueueDetachedPullIntoToQueue(controller: ByteControllerSlots, d: PullIntoDescriptor): void {
  if (d.bytesFilled > 0) byteControllerEnqueueClonedChunkToQueue(controller, d.buffer, d.byteOffset, d.bytesFilled);
  byteControllerShiftPendingPullInto(controller);
}

/** ReadableByteStreamControllerError. */
export function byteControllerError(controller: ByteControllerSlots, e: unknown): void {
  const stream = controller.stream;
  if (stream.state !== "readable") return;
  byteControllerClearPendingPullIntos(controller);
  resetByteQueue(controller);
  byteControllerClearAlgorithms(controller);
  readableStreamError(stream, e);
}

/** ReadableByteStreamControllerFillHeadPullIntoDescriptor. */
function byteControllerFillHeadPullIntoDescriptor(_controller: ByteControllerSlots, size: number, d: PullIntoDescriptor): void {
  d.bytesFilled += size;
}

/** ReadableByteStreamControllerFillPullIntoDescriptorFromQueue. */
function byteControllerFillPullIntoDescriptorFromQueue(controller: ByteControllerSlots, d: PullIntoDescriptor): boolean {
  const maxBytesToCopy = MathMin(controller.queueTotalSize, d.byteLength - d.bytesFilled);
  const maxBytesFilled = d.bytesFilled + maxBytesToCopy;
  let totalBytesToCopyRemaining = maxBytesToCopy;
  let ready = false;
  const remainderBytes = maxBytesFilled % d.elementSize;
  const maxAlignedBytes = maxBytesFilled - remainderBytes;
  if (maxAlignedBytes >= d.minimumFill) {
    totalBytesToCopyRemaining = maxAlignedBytes - d.bytesFilled;
    ready = true;
  }
  const queue = controller.queue;
  while (totalBytesToCopyRemaining > 0) {
    const head = queue.peek();
    const bytesToCopy = MathMin(totalBytesToCopyRemaining, head.byteLength);
    const destStart = d.byteOffset + d.bytesFilled;
    copyDataBlockBytes(d.buffer, destStart, head.buffer, head.byteOffset, bytesToCopy);
    if (head.byteLength === bytesToCopy) queue.shift();
    else {
      head.byteOffset += bytesToCopy;
      head.byteLength -= bytesToCopy;
    }
    controller.queueTotalSize -= bytesToCopy;
    byteControllerFillHeadPullIntoDescriptor(controller, bytesToCopy, d);
    totalBytesToCopyRemaining -= bytesToCopy;
  }
  return ready;
}

/** ReadableByteStreamControllerFillReadRequestFromQueue. */
function byteControllerFillReadRequestFromQueue(controller: ByteControllerSlots, readRequest: ReadRequest): void {
  const entry = controller.queue.shift();
  controller.queueTotalSize -= entry.byteLength;
  byteControllerHandleQueueDrain(controller);
  const view = new Uint8ArrayCtor(entry.buffer, entry.byteOffset, entry.byteLength);
  readRequest.chunkSteps(view);
}

/** ReadableByteStreamControllerGetBYOBRequest. */
export function byteControllerGetBYOBRequest(controller: ByteControllerSlots): BYOBRequestSlots | null {
  if (controller.byobRequest === null && controller.pendingPullIntos.length > 0) {
    const first = controller.pendingPullIntos[0]!;
    const view = new Uint8ArrayCtor(first.buffer, first.byteOffset + first.bytesFilled, first.byteLength - first.bytesFilled);
    const request: BYOBRequestSlots = { controller, view, object: undefined as never };
    request.object = createBYOBRequestObject(request);
    controller.byobRequest = request;
  }
  return controller.byobRequest;
}

/** ReadableByteStreamControllerGetDesiredSize. */
export function byteControllerGetDesiredSize(controller: ByteControllerSlots): number | null {
  const state = controller.stream.state;
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return controller.strategyHWM - controller.queueTotalSize;
}

/** ReadableByteStreamControllerHandleQueueDrain. */
function byteControllerHandleQueueDrain(controller: ByteControllerSlots): void {
  if (controller.queueTotalSize === 0 && controller.closeRequested) {
    byteControllerClearAlgorithms(controller);
    readableStreamClose(controller.stream);
  } else {
    byteControllerCallPullIfNeeded(controller);
  }
}

/** ReadableByteStreamControllerInvalidateBYOBRequest. */
function byteControllerInvalidateBYOBRequest(controller: ByteControllerSlots): void {
  const request = controller.byobRequest;
  if (request === null) return;
  request.controller = undefined;
  request.view = null;
  controller.byobRequest = null;
}

/** ReadableByteStreamControllerProcessPullIntoDescriptorsUsingQueue. */
function byteControllerProcessPullIntoDescriptorsUsingQueue(controller: ByteControllerSlots): PullIntoDescriptor[] {
  const filled: PullIntoDescriptor[] = [];
  while (controller.pendingPullIntos.length > 0) {
    if (controller.queueTotalSize === 0) break;
    const d = controller.pendingPullIntos[0]!;
    if (byteControllerFillPullIntoDescriptorFromQueue(controller, d)) {
      byteControllerShiftPendingPullInto(controller);
      filled.push(d);
    }
  }
  return filled;
}

/** ReadableByteStreamControllerProcessReadRequestsUsingQueue. */
function byteControllerProcessReadRequestsUsingQueue(controller: ByteControllerSlots): void {
  const reader = controller.stream.reader as DefaultReaderSlots;
  while (reader.readRequests.length > 0) {
    if (controller.queueTotalSize === 0) return;
    const readRequest = reader.readRequests.shift();
    byteControllerFillReadRequestFromQueue(controller, readRequest);
  }
}

/** ReadableByteStreamControllerPullInto. */
export function byteControllerPullInto(controller: ByteControllerSlots, view: ArrayBufferView, min: number, readIntoRequest: ReadIntoRequest): void {
  const stream = controller.stream;
  const [ctor, elementSize] = viewConstructorAndElementSize(view);
  const minimumFill = min * elementSize;
  const byteOffset = viewByteOffset(view);
  const byteLength = viewByteLength(view);
  let buffer: ArrayBuffer;
  try {
    buffer = transferArrayBuffer(viewBuffer(view) as ArrayBuffer);
  } catch (e) {
    readIntoRequest.errorSteps(e);
    return;
  }
  const d: PullIntoDescriptor = {
    buffer,
    bufferByteLength: ArrayBufferPrototypeGetByteLength(buffer),
    byteOffset,
    byteLength,
    bytesFilled: 0,
    minimumFill,
    elementSize,
    viewConstructor: ctor,
    readerType: "byob",
  };
  if (controller.pendingPullIntos.length > 0) {
    controller.pendingPullIntos.push(d);
    readableStreamAddReadIntoRequest(stream, readIntoRequest);
    return;
  }
  if (stream.state === "closed") {
    readIntoRequest.closeSteps(construct(ctor, buffer, byteOffset, 0));
    return;
  }
  if (controller.queueTotalSize > 0) {
    if (byteControllerFillPullIntoDescriptorFromQueue(controller, d)) {
      const filledView = byteControllerConvertPullIntoDescriptor(d);
      byteControllerHandleQueueDrain(controller);
      readIntoRequest.chunkSteps(filledView);
      return;
    }
    if (controller.closeRequested) {
      const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
      byteControllerError(controller, e);
      readIntoRequest.errorSteps(e);
      return;
    }
  }
  controller.pendingPullIntos.push(d);
  readableStreamAddReadIntoRequest(stream, readIntoRequest);
  byteControllerCallPullIfNeeded(controller);
}

/** ReadableByteStreamControllerRespond. */
export function byteControllerRespond(controller: ByteControllerSlots, bytesWritten: number): void {
  const first = controller.pendingPullIntos[0]!;
  const state = controller.stream.state;
  if (state === "closed") {
    if (bytesWritten !== 0) throw new TypeError("bytesWritten must be 0 when calling respond() on a closed stream");
  } else {
    if (bytesWritten === 0) throw new TypeError("bytesWritten must be greater than 0 when calling respond() on a readable stream");
    if (first.bytesFilled + bytesWritten > first.byteLength) throw new RangeError("bytesWritten out of range");
  }
  first.buffer = transferArrayBuffer(first.buffer);
  byteControllerRespondInternal(controller, bytesWritten);
}

/** ReadableByteStreamControllerRespondInClosedState. */
function byteControllerRespondInClosedState(controller: ByteControllerSlots, first: PullIntoDescriptor): void {
  if (first.readerType === "none") byteControllerShiftPendingPullInto(controller);
  const stream = controller.stream;
  if (readableStreamHasBYOBReader(stream)) {
    const filled: PullIntoDescriptor[] = [];
    while (filled.length < readableStreamGetNumReadIntoRequests(stream)) filled.push(byteControllerShiftPendingPullInto(controller));
    for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(stream, filled[i]!);
  }
}

/** ReadableByteStreamControllerRespondInReadableState. */
function byteControllerRespondInReadableState(controller: ByteControllerSlots, bytesWritten: number, d: PullIntoDescriptor): void {
  byteControllerFillHeadPullIntoDescriptor(controller, bytesWritten, d);
  const stream = controller.stream;
  if (d.readerType === "none") {
    byteControllerEnqueueDetachedPullIntoToQueue(controller, d);
    const filled = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
    for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(stream, filled[i]!);
    return;
  }
  if (d.bytesFilled < d.minimumFill) return;
  byteControllerShiftPendingPullInto(controller);
  const remainderSize = d.bytesFilled % d.elementSize;
  if (remainderSize > 0) {
    const end = d.byteOffset + d.bytesFilled;
    byteControllerEnqueueClonedChunkToQueue(controller, d.buffer, end - remainderSize, remainderSize);
  }
  d.bytesFilled -= remainderSize;
  const filled = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
  byteControllerCommitPullIntoDescriptor(stream, d);
  for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(stream, filled[i]!);
}

/** ReadableByteStreamControllerRespondInternal. */
function byteControllerRespondInternal(controller: ByteControllerSlots, bytesWritten: number): void {
  const first = controller.pendingPullIntos[0]!;
  byteControllerInvalidateBYOBRequest(controller);
  if (controller.stream.state === "closed") byteControllerRespondInClosedState(controller, first);
  else byteControllerRespondInReadableState(controller, bytesWritten, first);
  byteControllerCallPullIfNeeded(controller);
}

/** ReadableByteStreamControllerRespondWithNewView. */
export function byteControllerRespondWithNewView(controller: ByteControllerSlots, view: ArrayBufferView): void {
  const first = controller.pendingPullIntos[0]!;
  const state = controller.stream.state;
  const byteLength = viewByteLength(view);
  if (state === "closed") {
    if (byteLength !== 0) throw new TypeError("The view's length must be 0 when calling respondWithNewView() on a closed stream");
  } else if (byteLength === 0) {
    throw new TypeError("The view's length must be greater than 0 when calling respondWithNewView() on a readable stream");
  }
  if (first.byteOffset + first.bytesFilled !== viewByteOffset(view)) throw new RangeError("The region specified by view does not match byobRequest");
  const buffer = viewBuffer(view) as ArrayBuffer;
  if (first.bufferByteLength !== ArrayBufferPrototypeGetByteLength(buffer)) throw new RangeError("The buffer of view has different capacity than byobRequest");
  if (first.bytesFilled + byteLength > first.byteLength) throw new RangeError("The region specified by view is larger than byobRequest");
  first.buffer = transferArrayBuffer(buffer);
  byteControllerRespondInternal(controller, byteLength);
}

/** ReadableByteStreamControllerShiftPendingPullInto. */
function byteControllerShiftPendingPullInto(controller: ByteControllerSlots): PullIntoDescriptor {
  return controller.pendingPullIntos.shift()!;
}

/** ReadableByteStreamControllerShouldCallPull. */
function byteControllerShouldCallPull(controller: ByteControllerSlots): boolean {
  const stream = controller.stream;
  if (stream.state !== "readable") return false;
  if (controller.closeRequested) return false;
  if (!controller.started) return false;
  if (readableStreamHasDefaultReader(stream) && readableStreamGetNumReadRequests(stream) > 0) return true;
  if (readableStreamHasBYOBReader(stream) && readableStreamGetNumReadIntoRequests(stream) > 0) return true;
  return byteControllerGetDesiredSize(controller)! > 0;
}

function newByteControllerSlots(stream: ReadableStreamSlots, highWaterMark: number, autoAllocateChunkSize: number | undefined): ByteControllerSlots {
  const controller: ByteControllerSlots = {
    kind: "byte",
    stream,
    queue: new SimpleQueue(),
    queueTotalSize: 0,
    started: false,
    closeRequested: false,
    pullAgain: false,
    pulling: false,
    strategyHWM: highWaterMark,
    autoAllocateChunkSize,
    byobRequest: null,
    pendingPullIntos: [],
    pullAlgorithm: undefined,
    cancelAlgorithm: undefined,
    object: undefined as never,
  };
  controller.object = createByteControllerObject(controller);
  return controller;
}

function startByteController(controller: ByteControllerSlots, startResult: unknown): void {
  uponSettle(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      byteControllerCallPullIfNeeded(controller);
    },
    (r) => byteControllerError(controller, r),
  );
}

/** SetUpReadableByteStreamController. */
export function setUpByteController(
  stream: ReadableStreamSlots,
  startAlgorithm: StartAlgorithm,
  pullAlgorithm: PullAlgorithm,
  cancelAlgorithm: CancelAlgorithm,
  highWaterMark: number,
  autoAllocateChunkSize: number | undefined,
): ByteControllerSlots {
  const controller = newByteControllerSlots(stream, highWaterMark, autoAllocateChunkSize);
  controller.pullAlgorithm = pullAlgorithm;
  controller.cancelAlgorithm = cancelAlgorithm;
  stream.controller = controller;
  startByteController(controller, startAlgorithm());
  return controller;
}

function invoke(fn: (arg: never) => unknown, thisArg: unknown, arg: unknown): Promise<unknown> {
  try {
    return promiseResolvedWith(ReflectApply(fn, thisArg, [arg]));
  } catch (e) {
    return promiseRejectedWith(e);
  }
}

/** SetUpReadableByteStreamControllerFromUnderlyingSource. */
export function setUpByteControllerFromUnderlyingSource(
  stream: ReadableStreamSlots,
  underlyingSource: unknown,
  dict: {
    start: ((c: never) => unknown) | undefined;
    pull: ((c: never) => unknown) | undefined;
    cancel: ((reason: unknown) => unknown) | undefined;
    autoAllocateChunkSize: number | undefined;
  },
  highWaterMark: number,
): void {
  const { start, pull, cancel, autoAllocateChunkSize } = dict;
  if (autoAllocateChunkSize === 0) throw new TypeError("autoAllocateChunkSize must be greater than 0");
  const controller = newByteControllerSlots(stream, highWaterMark, autoAllocateChunkSize);
  const object = controller.object;
  controller.pullAlgorithm = pull === undefined ? () => promiseResolvedWith(undefined) : () => invoke(pull, underlyingSource, object);
  controller.cancelAlgorithm = cancel === undefined ? () => promiseResolvedWith(undefined) : (reason) => invoke(cancel, underlyingSource, reason);
  stream.controller = controller;
  startByteController(controller, start === undefined ? undefined : ReflectApply(start, underlyingSource, [object]));
}

/** IsDetachedBuffer of a view's buffer, and the other view accessors, for the public classes. */
export function viewIsDetached(view: ArrayBufferView): boolean {
  return isDetachedBuffer(viewBuffer(view) as ArrayBuffer);
}
