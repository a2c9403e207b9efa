/**
 * ReadableByteStreamTee (Streams §4.9.1): both branches are byte streams; a branch read
 * with a BYOB reader pulls from the source with a BYOB reader too, so bytes land directly
 * in that branch's buffer and only the other branch gets a copy.
 */
import { newDeferred, promiseResolvedWith, queueMicrotaskSteps, uponRejection } from "./promise-helpers.ts";
import {
  byteControllerClose,
  byteControllerEnqueue,
  byteControllerError,
  byteControllerGetBYOBRequest,
  byteControllerRespond,
  byteControllerRespondWithNewView,
  cloneAsUint8Array,
} from "./readable-byte-stream-controller-ops.ts";
import { newBYOBReaderSlots, readableStreamBYOBReaderRead } from "./readable-stream-byob-reader.ts";
import {
  newDefaultReaderSlots,
  readableStreamBYOBReaderRelease,
  readableStreamCancel,
  readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease,
} from "./readable-stream-ops.ts";
import type { ByteControllerSlots, ReaderSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { createReadableByteStream } from "./readable-stream.ts";

export function readableByteStreamTee(stream: ReadableStreamSlots): [ReadableStreamSlots, ReadableStreamSlots] {
  let reader: ReaderSlots = newDefaultReaderSlots(stream);
  let reading = false;
  let readAgainForBranch1 = false;
  let readAgainForBranch2 = false;
  let canceled1 = false;
  let canceled2 = false;
  let reason1: unknown;
  let reason2: unknown;
  let branch1!: ReadableStreamSlots;
  let branch2!: ReadableStreamSlots;
  const cancelPromise = newDeferred<undefined>();
  const ctrl = (branch: ReadableStreamSlots): ByteControllerSlots => branch.controller as ByteControllerSlots;

  const forwardReaderError = (thisReader: ReaderSlots): void => {
    uponRejection(thisReader.closedPromise.promise, (r) => {
      if (thisReader !== reader) return;
      byteControllerError(ctrl(branch1), r);
      byteControllerError(ctrl(branch2), r);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
  };

  const pullWithDefaultReader = (): void => {
    if (reader.kind === "byob") {
      readableStreamBYOBReaderRelease(reader);
      reader = newDefaultReaderSlots(stream);
      forwardReaderError(reader);
    }
    readableStreamDefaultReaderRead(reader, {
      chunkSteps: (chunk) => {
        queueMicrotaskSteps(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          const chunk1 = chunk as Uint8Array;
          let chunk2 = chunk as Uint8Array;
          if (!canceled1 && !canceled2) {
            try {
              chunk2 = cloneAsUint8Array(chunk1);
            } catch (e) {
              byteControllerError(ctrl(branch1), e);
              byteControllerError(ctrl(branch2), e);
              cancelPromise.resolve(readableStreamCancel(stream, e));
              return;
            }
          }
          if (!canceled1) byteControllerEnqueue(ctrl(branch1), chunk1);
          if (!canceled2) byteControllerEnqueue(ctrl(branch2), chunk2);
          reading = false;
          if (readAgainForBranch1) pull1Algorithm();
          else if (readAgainForBranch2) pull2Algorithm();
        });
      },
      closeSteps: () => {
        reading = false;
        if (!canceled1) byteControllerClose(ctrl(branch1));
        if (!canceled2) byteControllerClose(ctrl(branch2));
        if (ctrl(branch1).pendingPullIntos.length > 0) byteControllerRespond(ctrl(branch1), 0);
        if (ctrl(branch2).pendingPullIntos.length > 0) byteControllerRespond(ctrl(branch2), 0);
        if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
      },
      errorSteps: () => {
        reading = false;
      },
    });
  };

  const pullWithBYOBReader = (view: ArrayBufferView, forBranch2: boolean): void => {
    if (reader.kind === "default") {
      readableStreamDefaultReaderRelease(reader);
      reader = newBYOBReaderSlots(stream);
      forwardReaderError(reader);
    }
    const byobBranch = forBranch2 ? branch2 : branch1;
    const otherBranch = forBranch2 ? branch1 : branch2;
    readableStreamBYOBReaderRead(reader, view, 1, {
      chunkSteps: (chunk) => {
        queueMicrotaskSteps(() => {
          readAgainForBranch1 = false;
          readAgainForBranch2 = false;
          const byobCanceled = forBranch2 ? canceled2 : canceled1;
          const otherCanceled = forBranch2 ? canceled1 : canceled2;
          if (!otherCanceled) {
            let clonedChunk: Uint8Array;
            try {
              clonedChunk = cloneAsUint8Array(chunk);
            } catch (e) {
              byteControllerError(ctrl(byobBranch), e);
              byteControllerError(ctrl(otherBranch), e);
              cancelPromise.resolve(readableStreamCancel(stream, e));
              return;
            }
            if (!byobCanceled) byteControllerRespondWithNewView(ctrl(byobBranch), chunk);
            byteControllerEnqueue(ctrl(otherBranch), clonedChunk);
          } else if (!byobCanceled) {
            byteControllerRespondWithNewView(ctrl(byobBranch), chunk);
          }
          reading = false;
          if (readAgainForBranch1) pull1Algorithm();
          else if (readAgainForBranch2) pull2Algorithm();
        });
      },
      closeSteps: (chunk) => {
        reading = false;
        const byobCanceled = forBranch2 ? canceled2 : canceled1;
        const otherCanceled = forBranch2 ? canceled1 : canceled2;
        if (!byobCanceled) byteControllerClose(ctrl(byobBranch));
        if (!otherCanceled) byteControllerClose(ctrl(otherBranch));
        if (chunk !== undefined) {
          if (!byobCanceled) byteControllerRespondWithNewView(ctrl(byobBranch), chunk);
          if (!otherCanceled && ctrl(otherBranch).pendingPullIntos.length > 0) byteControllerRespond(ctrl(otherBranch), 0);
        }
        if (!byobCanceled || !otherCanceled) cancelPromise.resolve(undefined);
      },
      errorSteps: () => {
        reading = false;
      },
    });
  };

  const pull1Algorithm = (): Promise<undefined> => {
    if (reading) {
      readAgainForBranch1 = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    const byobRequest = byteControllerGetBYOBRequest(ctrl(branch1));
    if (byobRequest === null) pullWithDefaultReader();
    else pullWithBYOBReader(byobRequest.view!, false);
    return promiseResolvedWith(undefined);
  };

  const pull2Algorithm = (): Promise<undefined> => {
    if (reading) {
      readAgainForBranch2 = true;
      return promiseResolvedWith(undefined);
    }
    reading = true;
    const byobRequest = byteControllerGetBYOBRequest(ctrl(branch2));
    if (byobRequest === null) pullWithDefaultReader();
    else pullWithBYOBReader(byobRequest.view!, true);
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
  branch1 = createReadableByteStream(startAlgorithm, pull1Algorithm, cancel1Algorithm);
  branch2 = createReadableByteStream(startAlgorithm, pull2Algorithm, cancel2Algorithm);
  forwardReaderError(reader);
  return [branch1, branch2];
}
