/**
 * `wasi:http` 0.2 for a component transpiled by jco, on top of Flick's own Request and
 * Response: the incoming request is made from the function's `Request` (its body read
 * whole first), and what the component sets on the response outparam becomes the
 * function's `Response`. Names and shapes follow the WIT (wasi:http/types@0.2), in jco's
 * conventions (preview2-io.ts).
 *
 * Outgoing requests (`wasi:http/outgoing-handler`) are refused with `HTTP-request-denied`
 * for now: a component runs synchronously inside one entry, and an answer from the network
 * would need it to wait (docs/runtime.md, known gaps).
 */
import { InputStream, OutputStream, Pollable, ResultError } from "./preview2-io.ts";

type Method = { tag: string; val?: string };
type Scheme = { tag: "HTTP" | "HTTPS" | "other"; val?: string };

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const decoder = new TextDecoder();
const standardMethods = ["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"];

function checkName(name: string): void {
  if (!token.test(name)) throw new ResultError({ tag: "invalid-syntax" });
}

function checkValue(value: Uint8Array): void {
  for (const b of value) if (b === 0 || b === 10 || b === 13) throw new ResultError({ tag: "invalid-syntax" });
}

/** `fields`: header names kept in lower case; values are bytes. */
export class Fields {
  #list: [string, Uint8Array][];
  readonly #immutable: boolean;
  constructor(list: [string, Uint8Array][] = [], immutable = false) {
    this.#list = list;
    this.#immutable = immutable;
  }
  static fromList(entries: [string, Uint8Array][]): Fields {
    const list: [string, Uint8Array][] = [];
    for (const [name, value] of entries) {
      checkName(name);
      checkValue(value);
      list.push([name.toLowerCase(), value.slice()]);
    }
    return new Fields(list);
  }
  /** The same list, read-only (what `headers()` of a request or response gives). */
  frozen(): Fields {
    return new Fields(this.#list, true);
  }
  #mutable(): void {
    if (this.#immutable) throw new ResultError({ tag: "immutable" });
  }
  get(name: string): Uint8Array[] {
    const key = name.toLowerCase();
    return this.#list.filter(([n]) => n === key).map(([, v]) => v.slice());
  }
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#list.some(([n]) => n === key);
  }
  set(name: string, values: Uint8Array[]): void {
    this.#mutable();
    checkName(name);
    values.forEach(checkValue);
    const key = name.toLowerCase();
    this.#list = [...this.#list.filter(([n]) => n !== key), ...values.map((v): [string, Uint8Array] => [key, v.slice()])];
  }
  delete(name: string): void {
    this.#mutable();
    checkName(name);
    const key = name.toLowerCase();
    this.#list = this.#list.filter(([n]) => n !== key);
  }
  append(name: string, value: Uint8Array): void {
    this.#mutable();
    checkName(name);
    checkValue(value);
    this.#list.push([name.toLowerCase(), value.slice()]);
  }
  entries(): [string, Uint8Array][] {
    return this.#list.map(([n, v]) => [n, v.slice()]);
  }
  clone(): Fields {
    return new Fields(this.entries());
  }
  /** As a Web `Headers`; values that are not Latin-1 text are decoded as UTF-8. */
  toHeaders(): Headers {
    const headers = new Headers();
    for (const [n, v] of this.#list) headers.append(n, decoder.decode(v));
    return headers;
  }
}

export class FutureTrailers {
  #taken = false;
  subscribe(): Pollable {
    return new Pollable();
  }
  get(): unknown {
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }
}

export class IncomingBody {
  readonly #bytes: Uint8Array;
  #streamed = false;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  stream(): InputStream {
    if (this.#streamed) throw new ResultError(undefined);
    this.#streamed = true;
    return new InputStream(this.#bytes);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

export class IncomingRequest {
  readonly #method: Method;
  readonly #pathWithQuery: string;
  readonly #scheme: Scheme;
  readonly #authority: string;
  readonly #headers: Fields;
  #body: IncomingBody | undefined;
  constructor(request: Request, body: Uint8Array) {
    const url = new URL(request.url);
    const method = request.method.toLowerCase();
    this.#method = standardMethods.includes(method) ? { tag: method } : { tag: "other", val: request.method };
    this.#pathWithQuery = url.pathname + url.search;
    this.#scheme = url.protocol === "https:" ? { tag: "HTTPS" } : { tag: "HTTP" };
    this.#authority = url.host;
    const encoder = new TextEncoder();
    this.#headers = new Fields([...request.headers].map(([n, v]): [string, Uint8Array] => [n, encoder.encode(v)]), true);
    this.#body = new IncomingBody(body);
  }
  method(): Method {
    return this.#method;
  }
  pathWithQuery(): string | undefined {
    return this.#pathWithQuery;
  }
  scheme(): Scheme | undefined {
    return this.#scheme;
  }
  authority(): string | undefined {
    return this.#authority;
  }
  headers(): Fields {
    return this.#headers;
  }
  consume(): IncomingBody {
    const body = this.#body;
    if (body === undefined) throw new ResultError(undefined);
    this.#body = undefined;
    return body;
  }
}

/** Never made: no response comes in (outgoing requests are refused). */
export class IncomingResponse {}
export class FutureIncomingResponse {}

export class OutgoingBody {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  finished = false;
  #stream: OutputStream | undefined;
  write(): OutputStream {
    if (this.#stream !== undefined || this.finished) throw new ResultError(undefined);
    this.#stream = new OutputStream((bytes) => {
      this.chunks.push(bytes);
      this.length += bytes.length;
    });
    return this.#stream;
  }
  static finish(body: OutgoingBody, _trailers: Fields | undefined): void {
    body.finished = true;
    body.#stream?.close();
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export class OutgoingResponse {
  status = 200;
  readonly fields: Fields;
  body_: OutgoingBody | undefined;
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.fields = headers.clone();
  }
  statusCode(): number {
    return this.status;
  }
  setStatusCode(code: number): void {
    if (!Number.isInteger(code) || code < 100 || code > 999) throw new ResultError(undefined);
    this.status = code;
  }
  headers(): Fields {
    return this.fields.frozen();
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw new ResultError(undefined);
    this.#bodyTaken = true;
    this.body_ = new OutgoingBody();
    return this.body_;
  }
}

/** Made by the component for an outgoing request; never sent (see the header). */
export class OutgoingRequest {
  #method: Method = { tag: "get" };
  #pathWithQuery: string | undefined;
  #scheme: Scheme | undefined;
  #authority: string | undefined;
  readonly #fields: Fields;
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.#fields = headers.clone();
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw new ResultError(undefined);
    this.#bodyTaken = true;
    return new OutgoingBody();
  }
  method(): Method {
    return this.#method;
  }
  setMethod(method: Method): void {
    this.#method = method;
  }
  pathWithQuery(): string | undefined {
    return this.#pathWithQuery;
  }
  setPathWithQuery(value: string | undefined): void {
    this.#pathWithQuery = value;
  }
  scheme(): Scheme | undefined {
    return this.#scheme;
  }
  setScheme(value: Scheme | undefined): void {
    this.#scheme = value;
  }
  authority(): string | undefined {
    return this.#authority;
  }
  setAuthority(value: string | undefined): void {
    this.#authority = value;
  }
  headers(): Fields {
    return this.#fields.frozen();
  }
}

export class RequestOptions {
  #connect: bigint | undefined;
  #firstByte: bigint | undefined;
  #betweenBytes: bigint | undefined;
  connectTimeout(): bigint | undefined {
    return this.#connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.#connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.#firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.#firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.#betweenBytes;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.#betweenBytes = d;
  }
}

/** Where the component puts its answer: an outgoing response, or an error code. */
export class ResponseOutparam {
  result: { tag: "ok"; val: OutgoingResponse } | { tag: "err"; val: { tag: string; val?: unknown } } | undefined;
  static set(param: ResponseOutparam, response: ResponseOutparam["result"]): void {
    if (param.result !== undefined) throw new Error("wasi:http response-outparam set twice");
    param.result = response;
  }
}

export const httpInterfaces: Record<string, Record<string, unknown>> = {
  "wasi:http/types": {
    Fields,
    FutureIncomingResponse,
    FutureTrailers,
    IncomingBody,
    IncomingRequest,
    IncomingResponse,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    RequestOptions,
    ResponseOutparam,
    httpErrorCode: () => undefined,
  },
  "wasi:http/outgoing-handler": {
    handle: () => {
      throw new ResultError({ tag: "HTTP-request-denied" });
    },
  },
};
