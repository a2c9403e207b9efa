/**
 * The URL class (URL §6.1, https://url.spec.whatwg.org/#url-class).
 *
 * The parser lives in url-parser.ts and url-host.ts; this file is the WebIDL surface:
 * argument conversion, the getters and setters with their state overrides, and the link
 * to the query object. The query object is created on first access to `searchParams`
 * (unobservably: it is [SameObject] either way) so URLs that never touch it stay cheap.
 */
import { defineInspector } from "./console-format.ts";
import { constructContext, defineInterface, illegalInvocation, methodContext, requireArgs, toUSVString } from "./idl.ts";
import { StringPrototypeCharCodeAt, StringPrototypeSlice } from "./intrinsics.ts";
import {
  FRAGMENT_STATE,
  HOSTNAME_STATE,
  HOST_STATE,
  PATH_START_STATE,
  PORT_STATE,
  QUERY_STATE,
  SCHEME_START_STATE,
  type URLRecord,
  basicURLParse,
  cannotHaveUsernamePasswordPort,
  serializeOrigin,
  serializeURL,
} from "./url-parser.ts";
import { USERINFO_SET, utf8PercentEncode } from "./percent-encode.ts";
import { createLinkedSearchParams, resetSearchParamsList, type URLSearchParams } from "./url-search-params.ts";

let recordOf!: (url: URL) => URLRecord;
let isURLImpl!: (value: unknown) => boolean;
let fromRecord!: (record: URLRecord) => URL;

function checkThis(self: unknown): URL {
  if (!isURLImpl(self)) throw illegalInvocation();
  return self as URL;
}

function setterContext(attr: string): string {
  return `Failed to set the '${attr}' property on 'URL'`;
}

/** Setters receive exactly one argument through property assignment; a bare call may not. */
function setterArg(count: number, attr: string, value: unknown): string {
  requireArgs(count, 1, setterContext(attr));
  return toUSVString(value);
}

/** The API URL parser (URL §6.1) over already-converted strings. */
function apiParse(url: string, base: string | undefined): URLRecord | null {
  let parsedBase: URLRecord | null = null;
  if (base !== undefined) {
    parsedBase = basicURLParse(base, null);
    if (parsedBase === null) return null;
  }
  return basicURLParse(url, parsedBase);
}

/** A marker for the internal constructor path: URLs made from a record skip parsing. */
const kFromRecord = Symbol("fromRecord");

export class URL {
  #url: URLRecord;
  #query: URLSearchParams | null = null;
  /** Cached serialization; null after any change. */
  #href: string | null = null;

  constructor(url: string, base: string | undefined = undefined) {
    if ((url as unknown) === kFromRecord) {
      this.#url = base as unknown as URLRecord;
      return;
    }
    requireArgs(arguments.length, 1, constructContext("URL"));
    const input = toUSVString(url);
    const baseInput = base === undefined ? undefined : toUSVString(base);
    const parsed = apiParse(input, baseInput);
    if (parsed === null) throw new TypeError(`${constructContext("URL")}: Invalid URL`);
    this.#url = parsed;
  }

  static parse(url: string, base: string | undefined = undefined): URL | null {
    requireArgs(arguments.length, 1, methodContext("URL", "parse"));
    const input = toUSVString(url);
    const baseInput = base === undefined ? undefined : toUSVString(base);
    const parsed = apiParse(input, baseInput);
    return parsed === null ? null : fromRecord(parsed);
  }

  static canParse(url: string, base: string | undefined = undefined): boolean {
    requireArgs(arguments.length, 1, methodContext("URL", "canParse"));
    const input = toUSVString(url);
    const baseInput = base === undefined ? undefined : toUSVString(base);
    return apiParse(input, baseInput) !== null;
  }

  /** Called after any change to the record: drop the cached href. */
  #changed(): void {
    this.#href = null;
  }

  get href(): string {
    const self = checkThis(this);
    return (self.#href ??= serializeURL(self.#url));
  }

  set href(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "href", value);
    const parsed = basicURLParse(input, null);
    if (parsed === null) throw new TypeError(`${setterContext("href")}: Invalid URL`);
    self.#url = parsed;
    self.#changed();
    if (self.#query !== null) resetSearchParamsList(self.#query, parsed.query);
  }

  get origin(): string {
    return serializeOrigin(checkThis(this).#url);
  }

  get protocol(): string {
    return `${checkThis(this).#url.scheme}:`;
  }

  set protocol(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "protocol", value);
    basicURLParse(`${input}:`, null, self.#url, SCHEME_START_STATE);
    self.#changed();
  }

  get username(): string {
    return checkThis(this).#url.username;
  }

  set username(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "username", value);
    if (cannotHaveUsernamePasswordPort(self.#url)) return;
    self.#url.username = utf8PercentEncode(input, USERINFO_SET);
    self.#changed();
  }

  get password(): string {
    return checkThis(this).#url.password;
  }

  set password(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "password", value);
    if (cannotHaveUsernamePasswordPort(self.#url)) return;
    self.#url.password = utf8PercentEncode(input, USERINFO_SET);
    self.#changed();
  }

  get host(): string {
    const url = checkThis(this).#url;
    if (url.host === null) return "";
    if (url.port === null) return url.host;
    return `${url.host}:${url.port}`;
  }

  set host(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "host", value);
    if (self.#url.opaquePath) return;
    basicURLParse(input, null, self.#url, HOST_STATE);
    self.#changed();
  }

  get hostname(): string {
    return checkThis(this).#url.host ?? "";
  }

  set hostname(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "hostname", value);
    if (self.#url.opaquePath) return;
    basicURLParse(input, null, self.#url, HOSTNAME_STATE);
    self.#changed();
  }

  get port(): string {
    const port = checkThis(this).#url.port;
    return port === null ? "" : `${port}`;
  }

  set port(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "port", value);
    if (cannotHaveUsernamePasswordPort(self.#url)) return;
    if (input === "") self.#url.port = null;
    else basicURLParse(input, null, self.#url, PORT_STATE);
    self.#changed();
  }

  get pathname(): string {
    return checkThis(this).#url.path;
  }

  set pathname(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "pathname", value);
    if (self.#url.opaquePath) return;
    self.#url.path = "";
    basicURLParse(input, null, self.#url, PATH_START_STATE);
    self.#changed();
  }

  get search(): string {
    const query = checkThis(this).#url.query;
    return query === null || query === "" ? "" : `?${query}`;
  }

  set search(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "search", value);
    const url = self.#url;
    self.#changed();
    if (input === "") {
      url.query = null;
      if (self.#query !== null) resetSearchParamsList(self.#query, null);
      return;
    }
    const query = StringPrototypeCharCodeAt(input, 0) === 0x3f /* ? */ ? StringPrototypeSlice(input, 1) : input;
    url.query = "";
    basicURLParse(query, null, url, QUERY_STATE);
    if (self.#query !== null) resetSearchParamsList(self.#query, query);
  }

  get searchParams(): URLSearchParams {
    const self = checkThis(this);
    if (self.#query === null) {
      self.#query = createLinkedSearchParams(self.#url.query ?? "", (serializedQuery) => {
        // The query object's update steps (URL §6.2).
        self.#url.query = serializedQuery;
        self.#changed();
      });
    }
    return self.#query;
  }

  get hash(): string {
    const fragment = checkThis(this).#url.fragment;
    return fragment === null || fragment === "" ? "" : `#${fragment}`;
  }

  set hash(value: string) {
    const self = checkThis(this);
    const input = setterArg(arguments.length, "hash", value);
    const url = self.#url;
    self.#changed();
    if (input === "") {
      url.fragment = null;
      return;
    }
    const fragment = StringPrototypeCharCodeAt(input, 0) === 0x23 /* # */ ? StringPrototypeSlice(input, 1) : input;
    url.fragment = "";
    basicURLParse(fragment, null, url, FRAGMENT_STATE);
  }

  toJSON(): string {
    return checkThis(this).href;
  }

  toString(): string {
    return checkThis(this).href;
  }

  static {
    recordOf = (url) => url.#url;
    isURLImpl = (value) => typeof value === "object" && value !== null && #url in value;
    // `this` rather than the class name: a bundler would otherwise rename the class binding
    // (esbuild emits `var URL = class _URL`), and URL.name must stay "URL".
    const ctor = this;
    fromRecord = (record) => new ctor(kFromRecord as unknown as string, record as unknown as string);
  }
}

defineInterface(URL, "URL");

// console.log(url) shows the components, as in Node and browsers.
defineInspector(URL, (value) => {
  const url = value as URL;
  return {
    record: {
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      username: url.username,
      password: url.password,
      host: url.host,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search,
      searchParams: url.searchParams,
      hash: url.hash,
    },
  };
});

// ---- Internal operations for fetch, Request and Response ----

/** Brand check (not instanceof). */
export function isURL(value: unknown): value is URL {
  return isURLImpl(value);
}

/** The URL record behind a URL object; callers must not mutate it. */
export function urlRecordOf(url: URL): URLRecord {
  return recordOf(url);
}

/** A URL object owning `record` (which the caller must not keep mutating). */
export function urlFromRecord(record: URLRecord): URL {
  return fromRecord(record);
}

export { parseURL, serializeURL, type URLRecord } from "./url-parser.ts";
