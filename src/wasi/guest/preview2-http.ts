/**
 * `wasi:http` 0.2 for a component transpiled by jco, on top of Flick's own Request and
 * Response: the incoming request is made from the function's `Request` (its body read
 * whole first), and what the component sets on the response outparam becomes the
 * function's `Response`. Names and shapes follow the WIT (wasi:http/types@0.2), in jco's
 * conventions (preview2-io.ts).
 *
 * Outgoing requests (`wasi:http/outgoing-handler`) go out through Flick's own `fetch`, so
 * the egress policy, the subrequest limits and the fetch log lines apply as for JavaScript.
 * The component waits for the answer through JSPI: the glue imports `pollable.block` and
 * `poll` as suspending (bundle-component.ts), so its stack is parked on the promise.
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

/** The answer to an outgoing request: its body read whole before the component sees it. */
export class IncomingResponse {
  readonly #status: number;
  readonly #headers: Fields;
  #body: IncomingBody | undefined;
  constructor(status: number, headers: Headers, body: Uint8Array) {
    this.#status = status;
    const encoder = new TextEncoder();
    this.#headers = new Fields([...headers].map(([n, v]): [string, Uint8Array] => [n, encoder.encode(v)]), true);
    this.#body = new IncomingBody(body);
  }
  status(): number {
    return this.#status;
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

type ErrorCode = { tag: string; val?: unknown };

/** An outgoing request on its way: sent with Flick's own `fetch` (egress policy, limits, logs). */
export class FutureIncomingResponse {
  #outcome: { tag: "ok"; val: IncomingResponse } | { tag: "err"; val: ErrorCode } | undefined;
  #taken = false;
  readonly #answered: Promise<void>;
  constructor(send: () => Promise<Response>) {
    this.#answered = send().then(
      async (response) => {
        const body = new Uint8Array(await response.arrayBuffer());
        this.#outcome = { tag: "ok", val: new IncomingResponse(response.status, response.headers, body) };
      },
      (err: unknown) => {
        this.#outcome = { tag: "err", val: errorCodeOf(err) };
      },
    );
  }
  subscribe(): Pollable {
    return new Pollable(undefined, 0n, this.#answered);
  }
  get(): unknown {
    if (this.#outcome === undefined) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: this.#outcome };
  }
}

/** What a failed `fetch` was, as a wasi:http error code; the message rides along where the code has room. */
function errorCodeOf(err: unknown): ErrorCode {
  if (err instanceof ResultError) return err.payload as ErrorCode;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith("egress_denied:")) return { tag: "HTTP-request-denied" };
  if (/too many subrequests/.test(message)) return { tag: "connection-limit-reached" };
  if (/timed? ?out|timeout/i.test(message)) return { tag: "connection-timeout" };
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|DNS/i.test(message)) return { tag: "DNS-error", val: { rcode: message.slice(0, 200), infoCode: undefined } };
  if (/ECONNREFUSED|refused/i.test(message)) return { tag: "connection-refused" };
  return { tag: "internal-error", val: message.slice(0, 500) };
}

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
  #onFinished: (() => void) | undefined;
  /** Settles when the component finishes the body (an outgoing request is sent then). */
  whenFinished(): Promise<void> {
    return this.finished ? Promise.resolve() : new Promise((resolve) => (this.#onFinished = resolve));
  }
  static finish(body: OutgoingBody, _trailers: Fields | undefined): void {
    body.finished = true;
    body.#stream?.close();
    body.#onFinished?.();
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

/** Made by the component for an outgoing request; sent by `wasi:http/outgoing-handler.handle`. */
export class OutgoingRequest {
  #method: Method = { tag: "get" };
  #pathWithQuery: string | undefined;
  #scheme: Scheme | undefined;
  #authority: string | undefined;
  readonly #fields: Fields;
  body_: OutgoingBody | undefined;
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.#fields = headers.clone();
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw new ResultError(undefined);
    this.#bodyTaken = true;
    this.body_ = new OutgoingBody();
    return this.body_;
  }
  method(): Method {
    return this.#method;
  }
  setMethod(method: Method): void {
    if (method.tag === "other" && !token.test(method.val ?? "")) throw new ResultError(undefined);
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
  /** As a Web Request, once its body is written (http, https or an error). */
  toRequest(): Request {
    const scheme = this.#scheme?.tag === "HTTPS" ? "https" : this.#scheme?.tag === "other" ? this.#scheme.val ?? "" : "http";
    if (this.#authority === undefined || this.#authority === "") throw new ResultError({ tag: "HTTP-request-URI-invalid" });
    const method = this.#method.tag === "other" ? this.#method.val! : this.#method.tag.toUpperCase();
    const url = `${scheme}://${this.#authority}${this.#pathWithQuery ?? "/"}`;
    const body = this.body_ === undefined || method === "GET" || method === "HEAD" ? undefined : this.body_.bytes();
    try {
      return new Request(url, { method, headers: this.#fields.toHeaders(), ...(body === undefined ? {} : { body }) });
    } catch {
      throw new ResultError({ tag: "HTTP-request-URI-invalid" });
    }
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
    handle: (request: OutgoingRequest, _options: RequestOptions | undefined) => {
      // Sent once its body is finished: now when it is (or never was taken), else when the component finishes it.
      const body = request.body_;
      if (body === undefined || body.finished) {
        const built = request.toRequest();
        return new FutureIncomingResponse(() => fetch(built));
      }
      return new FutureIncomingResponse(() => body.whenFinished().then(() => fetch(request.toRequest())));
    },
  },
};
