/**
 * Request (Fetch §5.4).
 *
 * Server-runtime choices (as in Cloudflare Workers): there is no document, so there is
 * no API base URL (relative URLs are a TypeError) and no origin to compare referrers
 * with (a parsed referrer is kept as given); forbidden request headers are not filtered
 * and the "request-no-cors" guard does not restrict header names.
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
  proxyBody,
  type BodyInit,
  type ConvertedBodyInit,
} from "./body.ts";
import type { Blob } from "./blob.ts";
import { parseURL } from "./fetch-url.ts";
import type { FormData } from "./form-data.ts";
import { HeaderList, isToken, lowercaseName } from "./header-list.ts";
import { convertHeadersInit, fillHeaders, headerListOf, headersFromList, headersGuardOf, setHeadersGuard, type HeadersInit } from "./headers.ts";
import type { Headers } from "./headers.ts";
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  methodContext,
  requireArgs,
  toBoolean,
  toByteString,
  toDOMString,
  toDictionary,
  toEnum,
  toUSVString,
} from "./idl.ts";
import { ObjectFreeze, StringPrototypeToUpperCase } from "./intrinsics.ts";
import { promiseRejectedWith } from "./promise-helpers.ts";
import { readableStreamPipeTo, toAbortSignalLike } from "./readable-stream-pipe-to.ts";
import type { ReadableStreamSlots } from "./readable-stream-slots.ts";
import { slotsOfReadableStream, type ReadableStream } from "./readable-stream.ts";
import { createRequestSignal, type RequestSignal } from "./request-signal.ts";
import { TransformStream } from "./transform-stream.ts";
import { setPromiseIsHandled } from "./promise-helpers.ts";
import { writableStreamSlotsOrUndefined } from "./writable-stream.ts";

export type RequestCache = "default" | "no-store" | "reload" | "no-cache" | "force-cache" | "only-if-cached";
export type RequestCredentials = "omit" | "same-origin" | "include";
export type RequestDestination = "";
export type RequestDuplex = "half";
export type RequestMode = "navigate" | "same-origin" | "no-cors" | "cors";
export type RequestPriority = "high" | "low" | "auto";
export type RequestRedirect = "follow" | "error" | "manual";
export type ReferrerPolicy =
  | ""
  | "no-referrer"
  | "no-referrer-when-downgrade"
  | "same-origin"
  | "origin"
  | "strict-origin"
  | "origin-when-cross-origin"
  | "strict-origin-when-cross-origin"
  | "unsafe-url";

/** WebIDL RequestInit. */
export interface RequestInit {
  body?: BodyInit | null;
  cache?: RequestCache;
  credentials?: RequestCredentials;
  duplex?: RequestDuplex;
  headers?: HeadersInit;
  integrity?: string;
  keepalive?: boolean;
  method?: string;
  mode?: RequestMode;
  priority?: RequestPriority;
  redirect?: RequestRedirect;
  referrer?: string;
  referrerPolicy?: ReferrerPolicy;
  signal?: unknown;
  window?: null;
}

/** WebIDL RequestInfo. */
export type RequestInfo = Request | string;

const CACHE_VALUES = ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"] as const;
const CREDENTIALS_VALUES = ["omit", "same-origin", "include"] as const;
const MODE_VALUES = ["navigate", "same-origin", "no-cors", "cors"] as const;
const PRIORITY_VALUES = ["high", "low", "auto"] as const;
const REDIRECT_VALUES = ["follow", "error", "manual"] as const;
const REFERRER_POLICY_VALUES = [
  "",
  "no-referrer",
  "no-referrer-when-downgrade",
  "same-origin",
  "origin",
  "strict-origin",
  "origin-when-cross-origin",
  "strict-origin-when-cross-origin",
  "unsafe-url",
] as const;

/**
 * The parts of Fetch's request record that rarely differ from their defaults. Kept in
 * one object so an incoming request shares a single frozen default record.
 */
interface RequestOptions {
  readonly mode: RequestMode;
  readonly credentials: RequestCredentials;
  readonly cache: RequestCache;
  readonly redirect: RequestRedirect;
  /** "client", "no-referrer", or a serialized URL. */
  readonly referrer: string;
  readonly referrerPolicy: ReferrerPolicy;
  readonly integrity: string;
  readonly keepalive: boolean;
  readonly reloadNavigation: boolean;
  readonly historyNavigation: boolean;
  readonly priority: RequestPriority;
}

const DEFAULT_OPTIONS: RequestOptions = ObjectFreeze({
  mode: "cors",
  credentials: "same-origin",
  cache: "default",
  redirect: "follow",
  referrer: "client",
  referrerPolicy: "",
  integrity: "",
  keepalive: false,
  reloadNavigation: false,
  historyNavigation: false,
  priority: "auto",
});

/** Fetch's request record, minus what the Request object keeps itself. */
interface RequestState {
  method: string;
  url: string;
  options: RequestOptions;
  body: InnerBody | null;
  /** The signal followed by this request's signal (TODO: a real dependent AbortSignal). */
  parentSignal: object | null;
}

const kInternal = Symbol("internal");
let getState!: (r: Request) => RequestState;
let getHeaders!: (r: Request) => Headers;
let hasSlots!: (v: object) => boolean;

function isRequest(value: unknown): value is Request {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** Forbidden methods (Fetch §2.2.1), compared case-insensitively. */
function isForbiddenMethod(m: string): boolean {
  const u = StringPrototypeToUpperCase(m);
  return u === "CONNECT" || u === "TRACE" || u === "TRACK";
}

/** Fetch "normalize" a method: the six standard ones are uppercased. */
export function normalizeMethod(m: string): string {
  switch (m) {
    case "GET":
    case "POST":
    case "PUT":
    case "DELETE":
    case "HEAD":
    case "OPTIONS":
    case "PATCH":
      return m;
  }
  const u = StringPrototypeToUpperCase(m);
  return u === "DELETE" || u === "GET" || u === "HEAD" || u === "OPTIONS" || u === "POST" || u === "PUT" ? u : m;
}

interface ConvertedRequestInit {
  present: boolean;
  hasBody: boolean;
  body: ConvertedBodyInit | null;
  cache: RequestCache | undefined;
  credentials: RequestCredentials | undefined;
  duplex: RequestDuplex | undefined;
  headers: string[][] | HeaderList | undefined;
  integrity: string | undefined;
  keepalive: boolean | undefined;
  method: string | undefined;
  mode: RequestMode | undefined;
  priority: RequestPriority | undefined;
  redirect: RequestRedirect | undefined;
  referrer: string | undefined;
  referrerPolicy: ReferrerPolicy | undefined;
  hasSignal: boolean;
  signal: object | null;
  hasWindow: boolean;
  window: unknown;
}

/** WebIDL conversion of RequestInit, members in lexicographic order. */
function convertRequestInit(value: unknown, context: string): ConvertedRequestInit {
  const dict = toDictionary(value, context, "RequestInit");
  const member = (name: string): unknown => dictGet(dict, name);
  const enumMember = <T extends string>(name: string, values: readonly T[], enumName: string): T | undefined => {
    const v = member(name);
    return v === undefined ? undefined : toEnum(v, values, `${context}: Failed to read the '${name}' property from 'RequestInit'`, enumName);
  };
  const rawBody = member("body");
  const body = rawBody === undefined || rawBody === null ? null : convertBodyInit(rawBody);
  const cache = enumMember("cache", CACHE_VALUES, "RequestCache");
  const credentials = enumMember("credentials", CREDENTIALS_VALUES, "RequestCredentials");
  const duplex = enumMember("duplex", ["half"] as const, "RequestDuplex");
  const rawHeaders = member("headers");
  const headers = rawHeaders === undefined ? undefined : convertHeadersInit(rawHeaders, context);
  const rawIntegrity = member("integrity");
  const integrity = rawIntegrity === undefined ? undefined : toDOMString(rawIntegrity);
  const rawKeepalive = member("keepalive");
  const keepalive = rawKeepalive === undefined ? undefined : toBoolean(rawKeepalive);
  const rawMethod = member("method");
  const method = rawMethod === undefined ? undefined : toByteString(rawMethod, context);
  const mode = enumMember("mode", MODE_VALUES, "RequestMode");
  const priority = enumMember("priority", PRIORITY_VALUES, "RequestPriority");
  const redirect = enumMember("redirect", REDIRECT_VALUES, "RequestRedirect");
  const rawReferrer = member("referrer");
  const referrer = rawReferrer === undefined ? undefined : toUSVString(rawReferrer);
  const referrerPolicy = enumMember("referrerPolicy", REFERRER_POLICY_VALUES, "ReferrerPolicy");
  const rawSignal = member("signal");
  const signal = rawSignal === undefined || rawSignal === null ? null : (toAbortSignalLike(rawSignal, context) as object);
  const rawWindow = member("window");
  const present =
    rawBody !== undefined ||
    cache !== undefined ||
    credentials !== undefined ||
    duplex !== undefined ||
    headers !== undefined ||
    integrity !== undefined ||
    keepalive !== undefined ||
    method !== undefined ||
    mode !== undefined ||
    priority !== undefined ||
    redirect !== undefined ||
    referrer !== undefined ||
    referrerPolicy !== undefined ||
    rawSignal !== undefined ||
    rawWindow !== undefined;
  return {
    present,
    hasBody: rawBody !== undefined,
    body,
    cache,
    credentials,
    duplex,
    headers,
    integrity,
    keepalive,
    method,
    mode,
    priority,
    redirect,
    referrer,
    referrerPolicy,
    hasSignal: rawSignal !== undefined,
    signal,
    hasWindow: rawWindow !== undefined,
    window: rawWindow,
  };
}

/** Fetch "create a proxy" for a stream body: pipe it through an identity TransformStream. */
function pipeThroughIdentity(stream: ReadableStreamSlots): ReadableStreamSlots {
  const ts = new TransformStream();
  const readable = slotsOfReadableStream(ts.readable);
  const writable = writableStreamSlotsOrUndefined(ts.writable)!;
  setPromiseIsHandled(readableStreamPipeTo(stream, writable, false, false, false, undefined));
  return readable;
}

export class Request {
  #state: RequestState;
  #headers: Headers;
  #signal: RequestSignal | undefined;

  static {
    getState = (r) => r.#state;
    getHeaders = (r) => r.#headers;
    hasSlots = (v) => #state in v;
  }

  constructor(input: RequestInfo | { readonly href: string }, init: RequestInit | undefined = undefined) {
    if ((input as unknown) === kInternal) {
      const parts = init as unknown as { state: RequestState; headers: Headers };
      this.#state = parts.state;
      this.#headers = parts.headers;
      return;
    }
    const context = constructContext("Request");
    requireArgs(arguments.length, 1, context);
    // WebIDL: RequestInfo is (Request or USVString); then the init dictionary.
    const inputRequest = isRequest(input) ? input : null;
    const inputString = inputRequest === null ? toUSVString(input) : "";
    const initDict = convertRequestInit(init, context);

    let url: string;
    let method: string;
    let options: RequestOptions;
    let fallbackMode: RequestMode | null = null;
    let parentSignal: object | null = null;
    let inputState: RequestState | null = null;
    if (inputRequest === null) {
      const parsed = parseURL(inputString);
      if (parsed === null) throw new TypeError(`${context}: Invalid URL`);
      if (parsed.hasCredentials) throw new TypeError(`${context}: Request cannot be constructed from a URL that includes credentials: ${inputString}`);
      url = parsed.href;
      method = "GET";
      options = DEFAULT_OPTIONS;
      fallbackMode = "cors";
    } else {
      inputState = getState(inputRequest);
      url = inputState.url;
      method = inputState.method;
      options = inputState.options;
      parentSignal = inputRequest.signal as object;
    }
    if (initDict.hasWindow && initDict.window !== null) throw new TypeError(`${context}: 'window' can only be null`);

    // Steps 13–24: the record fields the init overrides.
    let mode = options.mode;
    let referrer = options.referrer;
    let referrerPolicy = options.referrerPolicy;
    let reloadNavigation = options.reloadNavigation;
    let historyNavigation = options.historyNavigation;
    if (initDict.present) {
      if (mode === "navigate") mode = "same-origin";
      reloadNavigation = false;
      historyNavigation = false;
      referrer = "client";
      referrerPolicy = "";
    }
    if (initDict.referrer !== undefined) {
      if (initDict.referrer === "") referrer = "no-referrer";
      else {
        const parsedReferrer = parseURL(initDict.referrer);
        if (parsedReferrer === null) throw new TypeError(`${context}: Referrer '${initDict.referrer}' is not a valid URL.`);
        // No document origin here to compare with: keep the referrer unless it is about:client.
        referrer = parsedReferrer.href === "about:client" ? "client" : parsedReferrer.href;
      }
    }
    if (initDict.referrerPolicy !== undefined) referrerPolicy = initDict.referrerPolicy;
    const initMode = initDict.mode ?? fallbackMode;
    if (initMode === "navigate") throw new TypeError(`${context}: Cannot construct a Request with a RequestInit whose mode member is set as 'navigate'.`);
    if (initMode !== null) mode = initMode;
    const credentials = initDict.credentials ?? options.credentials;
    const cache = initDict.cache ?? options.cache;
    if (cache === "only-if-cached" && mode !== "same-origin") {
      throw new TypeError(`${context}: 'only-if-cached' can be set only with 'same-origin' mode`);
    }
    const redirect = initDict.redirect ?? options.redirect;
    const integrity = initDict.integrity ?? options.integrity;
    const keepalive = initDict.keepalive ?? options.keepalive;
    if (initDict.method !== undefined) {
      const m = initDict.method;
      if (!isToken(m)) throw new TypeError(`${context}: '${m}' is not a valid HTTP method.`);
      if (isForbiddenMethod(m)) throw new TypeError(`${context}: '${m}' HTTP method is unsupported.`);
      method = normalizeMethod(m);
    }
    if (initDict.hasSignal) parentSignal = initDict.signal;
    const priority = initDict.priority ?? options.priority;

    const changed =
      mode !== options.mode ||
      referrer !== options.referrer ||
      referrerPolicy !== options.referrerPolicy ||
      reloadNavigation !== options.reloadNavigation ||
      historyNavigation !== options.historyNavigation ||
      credentials !== options.credentials ||
      cache !== options.cache ||
      redirect !== options.redirect ||
      integrity !== options.integrity ||
      keepalive !== options.keepalive ||
      priority !== options.priority;
    const finalOptions: RequestOptions = changed
      ? ObjectFreeze({ mode, credentials, cache, redirect, referrer, referrerPolicy, integrity, keepalive, reloadNavigation, historyNavigation, priority })
      : options;

    // Steps 31–33: headers.
    const list = inputState === null ? new HeaderList() : headerListOf(getHeaders(inputRequest!)).clone();
    const headers = headersFromList(list, "request");
    if (mode === "no-cors") {
      if (method !== "GET" && method !== "HEAD" && method !== "POST") {
        throw new TypeError(`${context}: '${method}' is unsupported in no-cors mode.`);
      }
      setHeadersGuard(headers, "request-no-cors");
    }
    if (initDict.present && initDict.headers !== undefined) {
      list.clear();
      fillHeaders(headers, initDict.headers, context);
    }

    // Steps 34–42: body.
    const inputBody = inputState === null ? null : inputState.body;
    if ((initDict.body !== null || inputBody !== null) && (method === "GET" || method === "HEAD")) {
      throw new TypeError(`${context}: Request with GET/HEAD method cannot have body.`);
    }
    let initBody: InnerBody | null = null;
    if (initDict.body !== null) {
      const { body, type } = extractBody(initDict.body, keepalive);
      initBody = body;
      if (type !== null && !list.contains("content-type")) list.append("content-type", type);
    }
    const inputOrInitBody = initBody ?? inputBody;
    if (inputOrInitBody !== null && inputOrInitBody.source === null) {
      if (initBody !== null && initDict.duplex === undefined) {
        throw new TypeError(`${context}: The duplex member must be specified for a request with a streaming body`);
      }
      if (mode !== "same-origin" && mode !== "cors") {
        throw new TypeError(`${context}: If request is made from ReadableStream, mode should be "same-origin" or "cors"`);
      }
    }
    let finalBody = inputOrInitBody;
    if (initBody === null && inputBody !== null) {
      if (bodyUnusable(inputBody)) throw new TypeError(`${context}: Cannot construct a Request with a Request object that has already been used.`);
      finalBody = proxyBody(inputBody, pipeThroughIdentity);
    }

    this.#state = { method, url, options: finalOptions, body: finalBody, parentSignal };
    this.#headers = headers;
  }

  get method(): string {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.method;
  }

  get url(): string {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.url;
  }

  get headers(): Headers {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#headers;
  }

  get destination(): RequestDestination {
    if (!isRequest(this)) throw illegalInvocation();
    return "";
  }

  get referrer(): string {
    if (!isRequest(this)) throw illegalInvocation();
    const referrer = this.#state.options.referrer;
    if (referrer === "no-referrer") return "";
    if (referrer === "client") return "about:client";
    return referrer;
  }

  get referrerPolicy(): ReferrerPolicy {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.referrerPolicy;
  }

  get mode(): RequestMode {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.mode;
  }

  get credentials(): RequestCredentials {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.credentials;
  }

  get cache(): RequestCache {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.cache;
  }

  get redirect(): RequestRedirect {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.redirect;
  }

  get integrity(): string {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.integrity;
  }

  get keepalive(): boolean {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.keepalive;
  }

  get isReloadNavigation(): boolean {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.reloadNavigation;
  }

  get isHistoryNavigation(): boolean {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#state.options.historyNavigation;
  }

  get signal(): RequestSignal {
    if (!isRequest(this)) throw illegalInvocation();
    return (this.#signal ??= createRequestSignal(this.#state.parentSignal));
  }

  get duplex(): RequestDuplex {
    if (!isRequest(this)) throw illegalInvocation();
    return "half";
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (!isRequest(this)) throw illegalInvocation();
    const body = this.#state.body;
    return body === null ? null : (bodyStream(body).object as ReadableStream<Uint8Array<ArrayBuffer>>);
  }

  get bodyUsed(): boolean {
    if (!isRequest(this)) throw illegalInvocation();
    return bodyUsed(this.#state.body);
  }

  clone(): Request {
    if (!isRequest(this)) throw illegalInvocation();
    const state = this.#state;
    if (bodyUnusable(state.body)) throw new TypeError(`${methodContext("Request", "clone")}: Request body is already used`);
    const headers = this.#headers;
    const clonedHeaders = headersFromList(headerListOf(headers).clone(), headersGuardOf(headers));
    const clonedState: RequestState = {
      method: state.method,
      url: state.url,
      options: state.options,
      body: state.body === null ? null : cloneBody(state.body),
      parentSignal: this.signal,
    };
    return new Request(kInternal as never, { state: clonedState, headers: clonedHeaders } as never);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Request", "arrayBuffer"), bodyToArrayBuffer);
  }

  blob(): Promise<Blob> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    const list = headerListOf(this.#headers);
    return consumeBody(this.#state.body, methodContext("Request", "blob"), (data, owned) => bodyToBlob(data, owned, list));
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Request", "bytes"), bodyToBytes);
  }

  formData(): Promise<FormData> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    const list = headerListOf(this.#headers);
    const context = methodContext("Request", "formData");
    return consumeBody(this.#state.body, context, (data) => bodyToFormData(data, list, context));
  }

  json(): Promise<unknown> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Request", "json"), bodyToJSON);
  }

  text(): Promise<string> {
    if (!isRequest(this)) return promiseRejectedWith(illegalInvocation());
    return consumeBody(this.#state.body, methodContext("Request", "text"), bodyToText);
  }
}
defineInterface(Request, "Request");

/**
 * A Request for an HTTP request the host received. Equivalent to
 * `new Request(url, { method, headers, body, duplex: "half" })` but without re-validating
 * what the host's HTTP parser already guarantees: `url` is an absolute, serialized URL,
 * `method` a token, and header names and values valid. Header names may be in any case.
 */
export function createIncomingRequest(
  method: string,
  url: string,
  headers: [string, string][],
  body: ReadableStream<Uint8Array> | null,
): Request {
  const list = new HeaderList();
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    list.append(lowercaseName(pair[0]), pair[1]);
  }
  const state: RequestState = {
    method: normalizeMethod(method),
    url,
    options: DEFAULT_OPTIONS,
    body: body === null ? null : new InnerBody(slotsOfReadableStream(body), null, false, null, null),
    parentSignal: null,
  };
  return new Request(kInternal as never, { state, headers: headersFromList(list, "request") } as never);
}

/** True for an object that is really a Request (brand check), for fetch() and the dispatcher. */
export { isRequest };
