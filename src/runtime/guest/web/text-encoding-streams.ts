/**
 * TextEncoderStream and TextDecoderStream (Encoding §7.4–7.5): a TextEncoder/TextDecoder
 * driven by a TransformStream. The encoder carries a lone high surrogate over to the next
 * chunk, so a pair split across chunks still encodes to one code point.
 */
import { constructContext, defineInterface, illegalInvocation, toStringES } from "./idl.ts";
import { TextDecoder, TextEncoder } from "./text-encoding.ts";
import { TransformStream } from "./transform-stream.ts";
import type { ReadableStream } from "./readable-stream.ts";
import type { WritableStream } from "./writable-stream.ts";

interface Controller {
  enqueue(chunk: unknown): void;
}

interface Pair {
  readable: ReadableStream;
  writable: WritableStream;
}

const encoderPairs = new WeakMap<object, Pair>();

export class TextEncoderStream {
  constructor() {
    const encoder = new TextEncoder();
    let pendingHigh = "";
    const stream = new TransformStream({
      transform(chunk: unknown, controller: Controller) {
        let text = pendingHigh + toStringES(chunk);
        pendingHigh = "";
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pendingHigh = text.slice(-1);
          text = text.slice(0, -1);
        }
        if (text !== "") controller.enqueue(encoder.encode(text));
      },
      flush(controller: Controller) {
        // A high surrogate with nothing after it is a lone surrogate: U+FFFD.
        if (pendingHigh !== "") controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
    encoderPairs.set(this, { readable: stream.readable as ReadableStream, writable: stream.writable as WritableStream });
  }

  get encoding(): string {
    if (!encoderPairs.has(this)) throw illegalInvocation();
    return "utf-8";
  }
  get readable(): ReadableStream<Uint8Array> {
    const pair = encoderPairs.get(this);
    if (pair === undefined) throw illegalInvocation();
    return pair.readable as ReadableStream<Uint8Array>;
  }
  get writable(): WritableStream<string> {
    const pair = encoderPairs.get(this);
    if (pair === undefined) throw illegalInvocation();
    return pair.writable as WritableStream<string>;
  }
}
defineInterface(TextEncoderStream, "TextEncoderStream");

const decoderState = new WeakMap<object, Pair & { decoder: TextDecoder }>();

export class TextDecoderStream {
  constructor(label: unknown = "utf-8", options: unknown = undefined) {
    const decoder = new TextDecoder(label, options);
    const context = constructContext("TextDecoderStream");
    const stream = new TransformStream({
      transform(chunk: unknown, controller: Controller) {
        if (typeof chunk !== "object" || chunk === null || !(ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer)) {
          throw new TypeError(`${context}: the chunk is not an ArrayBuffer or ArrayBufferView`);
        }
        const text = decoder.decode(chunk as ArrayBuffer, { stream: true });
        if (text !== "") controller.enqueue(text);
      },
      flush(controller: Controller) {
        const text = decoder.decode();
        if (text !== "") controller.enqueue(text);
      },
    });
    decoderState.set(this, { decoder, readable: stream.readable as ReadableStream, writable: stream.writable as WritableStream });
  }

  private static state(self: unknown) {
    const state = typeof self === "object" && self !== null ? decoderState.get(self) : undefined;
    if (state === undefined) throw illegalInvocation();
    return state;
  }
  get encoding(): string {
    return TextDecoderStream.state(this).decoder.encoding;
  }
  get fatal(): boolean {
    return TextDecoderStream.state(this).decoder.fatal;
  }
  get ignoreBOM(): boolean {
    return TextDecoderStream.state(this).decoder.ignoreBOM;
  }
  get readable(): ReadableStream<string> {
    return TextDecoderStream.state(this).readable as ReadableStream<string>;
  }
  get writable(): WritableStream<ArrayBuffer | ArrayBufferView> {
    return TextDecoderStream.state(this).writable as WritableStream<ArrayBuffer | ArrayBufferView>;
  }
}
defineInterface(TextDecoderStream, "TextDecoderStream");
