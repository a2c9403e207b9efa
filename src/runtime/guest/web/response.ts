/**
 * Response (Fetch §5.5).
 */
import {
  bodyStream,
  bodyToArrayBuffer,
  bodyToBlob,
  bodyToBytes,
  bodyToFormData,
  bodyToJSON,
  bodyToText,
  bodyUnusable,
  bodyUsed,
  cloneBody,
  consumeBody,
  convertBodyInit,
  extractBody,
  InnerBody,
  type BodyInit,
} from "./body.ts";
import type { Blob } from "./blob.ts";
import { parseURL } from "./fetch-url.ts";
import type { FormData } from "./form-data.ts";
import { HeaderList } from "./header-list.ts";
import { convertHeadersInit, fillHeaders, headerListOf, headersFromList, headersGuardOf, type Headers, type HeadersGuard, type HeadersInit } from "./headers.ts";
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  methodContext,
  requireArgs,
  toByteString,
  toDictionary,
  toUSVString,
  toUnsignedModulo,
} from "./idl.ts";
import { JSONStringify, StringPrototypeCharCodeAt } from "./intrinsics.ts";
import { promiseRejectedWith } from "./promise-helpers.ts";
import type { ReadableStream } from "./readable-stream.ts";
import { utf8Encode } from "./utf8.ts";

export type ResponseType = "basic" | "cors" | "default" | "error" | "opaque" | "opaqueredirect";

/** WebIDL ResponseInit. */
export interface ResponseInit {
  headers?: HeadersInit;
  status?: number;
  statusText?: string;
}

/** Fetch's response record, minus the Headers object the Response keeps itself. */
interface ResponseState {
  type: ResponseType;
  status: number;
  statusText: string;
  body: InnerBody | null;
  /** Serialized URLs the response went through; empty for a constructed response. */
  urlList: string[];
}

interface ConvertedResponseInit {
  headers: string[][] | HeaderList | undefined;
  status: number;
  statusText: string;
}

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;
let stateOfResponse!: (r: Response) => ResponseState;

function isResponse(value: unknown): value is Response {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** Fetch "null body status": 101, 103, 204, 205 and 304. */
function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

/** Fetch "redirect status". */
function isRedirectStatus(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** HTTP reason-phrase: HTAB, SP, VCHAR and obs-text only. */
function isReasonPhrase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff))) return false;
  }
  return true;
}

/** WebIDL conversion of ResponseInit (headers, status, statusText). */
function convertResponseInit(value: unknown, context: string): ConvertedResponseInit {
  const dict = toDictionary(value, context, "ResponseInit");
  const rawHeaders = dictGet(dict, "headers");
  const headers = rawHeaders === undefined ? undefined : convertHeadersInit(rawHeaders, context);
  const rawStatus = dictGet(dict, "status");
  const status = rawStatus === undefined ? 200 : toUnsignedModulo(rawStatus, 16);
  const rawStatusText = dictGet(dict, "statusText");
  const statusText = rawStatusText === undefined ? "" : toByteString(rawStatusText, context);
  return { headers, status, statusText };
}

/** Fetch "initialize a response". */
function initializeResponse(
  state: ResponseState,
  headers: Headers,
  init: ConvertedResponseInit,
  body: { body: InnerBody; type: string | null } | null,
  context: string,
): void {
  if (init.status < 200 || init.status > 599) {
    throw new RangeError(`${context}: The status provided (${init.status}) is outside the range [200, 599].`);
  }
  if (init.statusText !== "" && !isReasonPhrase(init.statusText)) throw new TypeError(`${context}: Invalid statusText`);
  state.status = init.status;
  state.statusText = init.statusText;
  if (init.headers !== undefined) fillHeaders(headers, init.headers, context);
  if (body !== null) {
    if (isNullBodyStatus(state.status)) throw new TypeError(`${context}: Response with null body status cannot have body`);
    state.body = body.body;
    const list = headerListOf(headers);
    if (body.type !== null && !list.contains("content-type")) list.append("content-type", body.type);
  }
}

export class Response {
  #state: ResponseState;
  #headers: Headers;

  static {
    hasSlots = (v) => #state in v;
    stateOfResponse = (r) => r.#state;
  }

  constructor(body: BodyInit | null | undefined = null, init: ResponseInit | undefined = undefined) {
    if ((body as unknown) === kInternal) {
      const parts = init as unknown as { state: ResponseState; headers: Headers };
      this.#state = parts.state;
      this.#headers = parts.headers;
      return;
    }
    const context = constructContext("Response");
    const converted = body === null || body === undefined ? null : convertBodyInit(body);
    const initDict = convertResponseInit(init, context);
    const state: ResponseState = { type: "default", status: 200, statusText: "", body: null, urlList: [] };
    const headers = headersFromList(new HeaderList(), "response");
    const bodyWithType = converted === null ? null : extractBody(converted, false);
    initializeResponse(state, headers, initDict, bodyWithType, context);
    this.#state = state;
    this.#headers = headers;
  }

  /** Response.error(): a network error. */
  static error(): Response {
    return createResponse({ type: "error", status: 0, statusText: "", body: null, urlList: [] }, new HeaderList(), "immutable");
  }

  /** Response.redirect(url, status = 302). */
  static redirect(url: string, status: number | undefined = undefined): Response {
    const context = methodContext("Response", "redirect");
    requireArgs(arguments.length, 1, context);
    const u = toUSVString(url);
    const s = status === undefined ? 302 : toUnsignedModulo(status, 16);
    const parsed = parseURL(u);
    if (parsed === null) throw new TypeError(`${context}: Invalid URL`);
    if (!isRedirectStatus(s)) throw new RangeError(`${context}: Invalid status code`);
    const list = new HeaderList();
    list.append("location", parsed.href);
    return createResponse({ type: "default", status: s, statusText: "", body: null, urlList: [] }, list, "immutable");
  }

  /** Response.json(data, init): `data` serialized as the body, Content-Type application/json. */
  static json(data: unknown, init: ResponseInit | undefined = undefined): Response {
    const context = methodContext("Response", "json");
    requireArgs(arguments.length, 1, context);
    const initDict = convertResponseInit(init, context);
    const json = JSONStringify(data) as string | undefined;
    if (json === undefined) throw new TypeError(`${context}: The data is not JSON serializable`);
    // JSON.stringify escapes lone surrogates, so the string is a valid USVString.
    const body = new InnerBody(null, json, false, json, null);
    const state: ResponseState = { type: "default", status: 200, statusText: "", body: null, urlList: [] };
    const headers = headersFromList(new HeaderList(), "response");
    initializeResponse(state, headers, initDict, { body, type: "application/json" }, context);
    return new Response(kInternal as never, { state, headers } as never);
  }

  get type(): ResponseType {
    if (!isResponse(this)) throw illegalInvocation();
    return this.#state.type;
  }

  get url(): string {
    if (!isResponse(this)) throw illegalInvocation();
    const list = this.#state.urlList;
    if (list.length === 0) return "";
    // Serialized with "exclude fragment".
    const last = list[list.length - 1]!;
    const hash = last.indexOf("#");
    return hash < 0 ? last : last.slice(0, hash);
  }

  get redirected(): boolean {
    if (!isResponse(this)) throw illegalInvocation();
    return this.#state.urlList.length > 1;
  }

  get status(): number {
    if (!isResponse(this)) throw illegalInvocation();
    return this.#state.status;
  }

  get ok(): boolean {
    if (!isResponse(this)) throw illegalInvocation();
    const status = this.#state.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    if (!isResponse(this)) throw illegalInvocation();
    return this.#state.statusText;
  }

  get headers(): Headers {
    if (!isResponse(this)) throw illegalInvocation();
    return this.#headers;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (!isResponse(this)) throw illegalInvocation();
    const body = this.#state.body;
    return body === null ? null : (bodyStream(body).object as ReadableStream<Uint8Array<ArrayBuffer>>);
  }

  get bodyUsed(): boolean {
    if (!isResponse(this)) throw illegalInvocation();
    return bodyUsed(this.#state.body);
  }

  clone(): Response {
    if (!isResponse(this)) throw illegalInvocation();
    const state = this.#state;
    if (bodyUnusable(state.body)) throw new TypeError(`${methodContext("Response", "clone")}: Response body is already used`);
    const cloned: ResponseState = {
      type: state.type,
      status: state.status,
      statusText: state.statusText,
      body: state.body === null ? null : cloneBody(state.body),
      urlList: state.urlList.slice(),
    };
    return createResponse(cloned, headerListOf(this.#headers).clone(), headersGuardOf(this.#headers));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Response", "arrayBuffer"), bodyToArrayBuffer);
  }

  blob(): Promise<Blob> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    const list = headerListOf(this.#headers);
    return consumeBody(this.#state.body, methodContext("Response", "blob"), (data, owned) => bodyToBlob(data, owned, list));
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Response", "bytes"), bodyToBytes);
  }

  formData(): Promise<FormData> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    const list = headerListOf(this.#headers);
    const context = methodContext("Response", "formData");
    return consumeBody(this.#state.body, context, (data) => bodyToFormData(data, list, context));
  }

  json(): Promise<unknown> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Response", "json"), bodyToJSON);
  }

  text(): Promise<string> {
    if (!isResponse(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Response", "text"), bodyToText);
  }
}
defineInterface(Response, "Response");

/** "Create a Response object" from a response record, a header list and a guard. */
function createResponse(state: ResponseState, list: HeaderList, guard: HeadersGuard): Response {
  return new Response(kInternal as never, { state, headers: headersFromList(list, guard) } as never);
}

/**
 * For the dispatcher: a handler's response body in one piece when it was given as bytes
 * or text and nobody made a stream of it yet (the common case: no stream machinery on the
 * hot path). `null` for no body, `undefined` when the body must be streamed. Marks it used.
 */
export function takeBufferedBody(response: Response): Uint8Array | null | undefined {
  const body = stateOfResponse(response).body;
  if (body === null) return null;
  if (body.stream !== null || body.consumed) return undefined;
  const pending = body.pending;
  body.pending = null;
  body.consumed = true;
  if (pending === null) return new Uint8Array(0);
  return typeof pending === "string" ? utf8Encode(pending) : pending;
}

/**
 * The Response `fetch()` resolves with: a response record from the network (any status,
 * including 1xx-less codes the constructor refuses), its URL list, immutable headers.
 */
export function createFetchedResponse(
  status: number,
  statusText: string,
  headers: [string, string][],
  body: Uint8Array<ArrayBuffer> | null,
  urlList: string[],
): Response {
  const list = new HeaderList();
  for (let i = 0; i < headers.length; i++) list.append(headers[i]![0], headers[i]![1]);
  const inner = body === null || isNullBodyStatus(status) ? null : new InnerBody(null, body, false, body, body.length);
  return createResponse({ type: "basic", status, statusText, body: inner, urlList }, list, "immutable");
}

export { isResponse };
