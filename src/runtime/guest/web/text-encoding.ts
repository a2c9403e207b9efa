/**
 * TextEncoder and TextDecoder (Encoding §7–8, https://encoding.spec.whatwg.org/#api).
 *
 * Decoding supports every encoding of the standard: UTF-8, UTF-16LE/BE, the legacy
 * single-byte encodings (windows-1252 being what the "latin1", "iso-8859-1" and "ascii"
 * labels mean, per the spec), the legacy multi-byte ones (GBK, gb18030, Big5, EUC-JP,
 * ISO-2022-JP, Shift_JIS, EUC-KR) and x-user-defined; the "replacement" encoding's labels
 * are a RangeError, as the spec says (see text-decoders.ts).
 */
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  methodContext,
  requireArgs,
  toBoolean,
  toDictionary,
  toStringES,
} from "./idl.ts";
import {
  ArrayBufferIsView,
  ArrayBufferPrototypeGetDetached,
  StringPrototypeCharCodeAt,
  StringPrototypeSlice,
  Uint8ArrayCtor,
  isArrayBuffer,
  isSharedArrayBuffer,
  isUint8Array,
  typedArrayLength,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";
import { createDecoder, getEncoding, type StreamDecoder } from "./text-decoders.ts";
import { utf8Encode, utf8EncodeInto } from "./utf8.ts";

export interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

export interface TextDecodeOptions {
  stream?: boolean;
}

export interface TextEncoderEncodeIntoResult {
  read: number;
  written: number;
}

export type AllowSharedBufferSource = ArrayBufferLike | ArrayBufferView;

const EMPTY = new Uint8ArrayCtor(0);

/**
 * The bytes an AllowSharedBufferSource views, without copying: decoding is synchronous
 * and runs no user code, so nothing can change them meanwhile. Detached buffers are empty.
 */
function bytesOf(input: unknown, context: string): Uint8Array {
  if (ArrayBufferIsView(input)) {
    const buffer = viewBuffer(input);
    if (isArrayBuffer(buffer) && ArrayBufferPrototypeGetDetached(buffer)) return EMPTY;
    return new Uint8ArrayCtor(buffer, viewByteOffset(input), viewByteLength(input));
  }
  if (isArrayBuffer(input)) {
    return ArrayBufferPrototypeGetDetached(input) ? EMPTY : new Uint8ArrayCtor(input);
  }
  if (isSharedArrayBuffer(input)) return new Uint8ArrayCtor(input);
  throw new TypeError(`${context}: The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`);
}

let isTextEncoder!: (value: unknown) => boolean;

export class TextEncoder {
  #brand = true;

  get encoding(): string {
    if (!isTextEncoder(this)) throw illegalInvocation();
    return "utf-8";
  }

  /** UTF-8 encode (Encoding §8.3.2). Lone surrogates encode as U+FFFD, as USVString conversion would make them. */
  encode(input: unknown = ""): Uint8Array<ArrayBuffer> {
    if (!isTextEncoder(this)) throw illegalInvocation();
    return utf8Encode(toStringES(input));
  }

  /** Encode into `destination` whole code points while they fit (Encoding §8.3.3). */
  encodeInto(source: unknown, destination: Uint8Array): TextEncoderEncodeIntoResult {
    if (!isTextEncoder(this)) throw illegalInvocation();
    const context = methodContext("TextEncoder", "encodeInto");
    requireArgs(arguments.length, 2, context);
    const s = toStringES(source);
    if (!isUint8Array(destination)) {
      throw new TypeError(`${context}: parameter 2 is not of type 'Uint8Array'.`);
    }
    const [read, written] = utf8EncodeInto(s, destination);
    return { read, written };
  }

  static {
    isTextEncoder = (value) => typeof value === "object" && value !== null && #brand in value;
  }
}

let isTextDecoder!: (value: unknown) => boolean;

export class TextDecoder {
  readonly #encoding: string;
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  /** BOM sniffing applies to the UTF-8 and UTF-16 encodings only (Encoding §7.1 "serialize I/O queue"). */
  readonly #bomApplies: boolean;
  readonly #decoder: StreamDecoder;
  #doNotFlush = false;
  #bomSeen = false;

  constructor(label: unknown = "utf-8", options: unknown = undefined) {
    const context = constructContext("TextDecoder");
    const labelString = toStringES(label);
    const dict = toDictionary(options, context, "TextDecoderOptions");
    const fatal = toBoolean(dictGet(dict, "fatal"));
    const ignoreBOM = toBoolean(dictGet(dict, "ignoreBOM"));
    const encoding = getEncoding(labelString);
    if (encoding === undefined) {
      throw new RangeError(`${context}: The encoding label provided ('${labelString}') is invalid.`);
    }
    this.#encoding = encoding;
    this.#fatal = fatal;
    this.#ignoreBOM = ignoreBOM;
    this.#bomApplies = encoding === "utf-8" || encoding === "utf-16le" || encoding === "utf-16be";
    this.#decoder = createDecoder(encoding, fatal);
  }

  get encoding(): string {
    if (!isTextDecoder(this)) throw illegalInvocation();
    return this.#encoding;
  }

  get fatal(): boolean {
    if (!isTextDecoder(this)) throw illegalInvocation();
    return this.#fatal;
  }

  get ignoreBOM(): boolean {
    if (!isTextDecoder(this)) throw illegalInvocation();
    return this.#ignoreBOM;
  }

  /** The decode(input, options) method steps (Encoding §7.2). */
  decode(input: unknown = undefined, options: unknown = undefined): string {
    if (!isTextDecoder(this)) throw illegalInvocation();
    const context = methodContext("TextDecoder", "decode");
    const bytes = input === undefined ? EMPTY : bytesOf(input, context);
    const stream = toBoolean(dictGet(toDictionary(options, context, "TextDecodeOptions"), "stream"));
    const decoder = this.#decoder;
    if (!this.#doNotFlush) {
      decoder.reset();
      this.#bomSeen = false;
    }
    this.#doNotFlush = stream;
    // The length through the captured getter: user code may redefine %TypedArray%.prototype.length.
    let output = decoder.decode(bytes, 0, typedArrayLength(bytes), !stream);
    if (output === null) {
      throw new TypeError(`${context}: The encoded data was not valid for encoding ${this.#encoding}`);
    }
    // A leading U+FEFF of the stream is dropped unless ignoreBOM, once there is output.
    if (this.#bomApplies && !this.#ignoreBOM && !this.#bomSeen && output.length !== 0) {
      this.#bomSeen = true;
      if (StringPrototypeCharCodeAt(output, 0) === 0xfeff) output = StringPrototypeSlice(output, 1);
    }
    return output;
  }

  static {
    isTextDecoder = (value) => typeof value === "object" && value !== null && #decoder in value;
  }
}

defineInterface(TextEncoder, "TextEncoder");
defineInterface(TextDecoder, "TextDecoder");
