/**
 * URLPattern (WHATWG URL Pattern Standard): pattern strings per URL component — fixed
 * text, `:name` groups, `(regexp)` groups, `*` wildcards, `{…}` groups and the `?`, `+`,
 * `*` modifiers — compiled to regular expressions, matched against URLs.
 * Spec structure kept: tokenizer (§1.2), parser (§1.3), regexp and pattern-string
 * generation (§1.4), constructor string parser (§2.2), URLPatternInit processing (§3).
 */
import { FRAGMENT_STATE, HOSTNAME_STATE, OPAQUE_PATH_STATE, PORT_STATE, QUERY_STATE, URLRecord, basicURLParse, isSpecialScheme, parseURL, toScalarValueString } from "./url-parser.ts";
import { URL } from "./url.ts";
import { defineInterface, dictGet, illegalInvocation, isObject, toDictionary, toUSVString } from "./idl.ts";

// — tokenizer —

type TokenType = "open" | "close" | "regexp" | "name" | "char" | "escaped-char" | "other-modifier" | "asterisk" | "end" | "invalid-char";
interface Token {
  type: TokenType;
  index: number;
  value: string;
}

const isNameStart = (c: string) => /[$_\p{ID_Start}]/u.test(c);
const isNamePart = (c: string) => /[$\u200c\u200d\p{ID_Continue}]/u.test(c);

function tokenize(input: string, strict: boolean): Token[] {
  const tokens: Token[] = [];
  const chars = [...input];
  let i = 0;
  const error = (at: number, next: number, message: string) => {
    if (strict) throw new TypeError(`Invalid URL pattern "${input}": ${message} at ${at}`);
    tokens.push({ type: "invalid-char", index: at, value: chars.slice(at, next).join("") });
    i = next;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === "*") tokens.push({ type: "asterisk", index: i, value: c }), i++;
    else if (c === "+" || c === "?") tokens.push({ type: "other-modifier", index: i, value: c }), i++;
    else if (c === "\\") {
      if (i === chars.length - 1) error(i, i + 1, "a trailing backslash");
      else tokens.push({ type: "escaped-char", index: i, value: chars[i + 1]! }), (i += 2);
    } else if (c === "{") tokens.push({ type: "open", index: i, value: c }), i++;
    else if (c === "}") tokens.push({ type: "close", index: i, value: c }), i++;
    else if (c === ":") {
      let j = i + 1;
      while (j < chars.length && (j === i + 1 ? isNameStart(chars[j]!) : isNamePart(chars[j]!))) j++;
      if (j === i + 1) error(i, j, "a group name is missing");
      else tokens.push({ type: "name", index: i, value: chars.slice(i + 1, j).join("") }), (i = j);
    } else if (c === "(") {
      let depth = 1;
      let j = i + 1;
      let value = "";
      let bad = false;
      while (j < chars.length) {
        const d = chars[j]!;
        if (d.charCodeAt(0) > 0x7f) {
          error(i, j, "a non-ASCII character in a regexp group");
          bad = true;
          break;
        }
        if (j === i + 1 && d === "?") {
          error(i, j, "a regexp group starting with ?");
          bad = true;
          break;
        }
        if (d === "\\") {
          if (j === chars.length - 1 || chars[j + 1]!.charCodeAt(0) > 0x7f) {
            error(i, j, "a bad escape in a regexp group");
            bad = true;
            break;
          }
          value += d + chars[j + 1]!;
          j += 2;
          continue;
        }
        if (d === ")") {
          depth--;
          if (depth === 0) {
            j++;
            break;
          }
        } else if (d === "(") {
          depth++;
          if (j === chars.length - 1 || chars[j + 1] !== "?") {
            error(i, j, "a capturing group inside a regexp group");
            bad = true;
            break;
          }
        }
        value += d;
        j++;
      }
      if (bad) continue;
      if (depth !== 0) error(i, j, "an unbalanced regexp group");
      else if (value === "") error(i, j, "an empty regexp group");
      else tokens.push({ type: "regexp", index: i, value }), (i = j);
    } else tokens.push({ type: "char", index: i, value: c }), i++;
  }
  tokens.push({ type: "end", index: chars.length, value: "" });
  return tokens;
}

// — parser —

type PartType = "fixed-text" | "regexp" | "segment-wildcard" | "full-wildcard";
type Modifier = "" | "?" | "*" | "+";
interface Part {
  type: PartType;
  value: string;
  modifier: Modifier;
  name: string;
  prefix: string;
  suffix: string;
}
interface Options {
  delimiter: string;
  prefix: string;
  ignoreCase: boolean;
}

const escapeRegexp = (s: string) => s.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
const escapePattern = (s: string) => s.replace(/[+*?:{}()\\]/g, "\\$&");
const segmentWildcard = (o: Options) => `[^${escapeRegexp(o.delimiter)}]+?`;

function parsePattern(input: string, options: Options, encode: (s: string) => string): Part[] {
  const tokens = tokenize(input, true);
  const parts: Part[] = [];
  let index = 0;
  let pending = "";
  let nextNumeric = 0;
  const tryConsume = (type: TokenType) => (tokens[index]!.type === type ? tokens[index++]! : null);
  const tryRegexpOrWildcard = (name: Token | null) => tryConsume("regexp") ?? (name === null ? tryConsume("asterisk") : null);
  const tryModifier = () => tryConsume("other-modifier") ?? tryConsume("asterisk");
  const consumeText = () => {
    let text = "";
    for (let t = tryConsume("char") ?? tryConsume("escaped-char"); t !== null; t = tryConsume("char") ?? tryConsume("escaped-char")) text += t.value;
    return text;
  };
  const flush = () => {
    if (pending === "") return;
    parts.push({ type: "fixed-text", value: encode(pending), modifier: "", name: "", prefix: "", suffix: "" });
    pending = "";
  };
  const addPart = (prefix: string, name: Token | null, regexp: Token | null, suffix: string, modifierToken: Token | null) => {
    const modifier = (modifierToken?.value ?? "") as Modifier;
    if (name === null && regexp === null && modifier === "") {
      pending += prefix;
      return;
    }
    flush();
    if (name === null && regexp === null) {
      if (prefix === "") return;
      parts.push({ type: "fixed-text", value: encode(prefix), modifier, name: "", prefix: "", suffix: "" });
      return;
    }
    let value = regexp === null ? segmentWildcard(options) : regexp.type === "asterisk" ? ".*" : regexp.value;
    let type: PartType = "regexp";
    if (value === segmentWildcard(options)) (type = "segment-wildcard"), (value = "");
    else if (value === ".*") (type = "full-wildcard"), (value = "");
    const partName = name !== null ? name.value : String(nextNumeric++);
    if (parts.some((p) => p.name === partName && p.type !== "fixed-text")) throw new TypeError(`Invalid URL pattern "${input}": duplicate group name ${partName}`);
    parts.push({ type, value, modifier, name: partName, prefix: encode(prefix), suffix: encode(suffix) });
  };
  while (index < tokens.length) {
    const char = tryConsume("char");
    const name = tryConsume("name");
    const regexp = tryRegexpOrWildcard(name);
    if (name !== null || regexp !== null) {
      let prefix = char?.value ?? "";
      if (prefix !== "" && prefix !== options.prefix) {
        pending += prefix;
        prefix = "";
      }
      flush();
      addPart(prefix, name, regexp, "", tryModifier());
      continue;
    }
    const fixed = char ?? tryConsume("escaped-char");
    if (fixed !== null) {
      pending += fixed.value;
      continue;
    }
    if (tryConsume("open") !== null) {
      const prefix = consumeText();
      const groupName = tryConsume("name");
      const groupRegexp = tryRegexpOrWildcard(groupName);
      const suffix = consumeText();
      if (tryConsume("close") === null) throw new TypeError(`Invalid URL pattern "${input}": expected }`);
      addPart(prefix, groupName, groupRegexp, suffix, tryModifier());
      continue;
    }
    flush();
    if (tryConsume("end") === null) throw new TypeError(`Invalid URL pattern "${input}": unexpected ${tokens[index]!.value}`);
  }
  return parts;
}

function toRegExp(parts: Part[], options: Options): { regexp: RegExp; names: string[] } {
  let source = "^";
  const names: string[] = [];
  for (const part of parts) {
    if (part.type === "fixed-text") {
      source += part.modifier === "" ? escapeRegexp(part.value) : `(?:${escapeRegexp(part.value)})${part.modifier}`;
      continue;
    }
    names.push(part.name);
    const value = part.type === "segment-wildcard" ? segmentWildcard(options) : part.type === "full-wildcard" ? ".*" : part.value;
    if (part.prefix === "" && part.suffix === "") {
      source += part.modifier === "" || part.modifier === "?" ? `(${value})${part.modifier}` : `((?:${value})${part.modifier})`;
      continue;
    }
    const pre = escapeRegexp(part.prefix);
    const suf = escapeRegexp(part.suffix);
    if (part.modifier === "" || part.modifier === "?") {
      source += `(?:${pre}(${value})${suf})${part.modifier}`;
      continue;
    }
    source += `(?:${pre}((?:${value})(?:${suf}${pre}(?:${value}))*)${suf})`;
    if (part.modifier === "*") source += "?";
  }
  source += "$";
  try {
    return { regexp: new RegExp(source, options.ignoreCase ? "vi" : "v"), names };
  } catch (err) {
    throw new TypeError(`Invalid URL pattern: ${(err as Error).message}`);
  }
}

function toPatternString(parts: Part[], options: Options): string {
  let result = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const previous = parts[i - 1];
    const next = parts[i + 1];
    if (part.type === "fixed-text") {
      result += part.modifier === "" ? escapePattern(part.value) : `{${escapePattern(part.value)}}${part.modifier}`;
      continue;
    }
    const customName = !/^[0-9]/.test(part.name);
    let grouping = part.suffix !== "" || (part.prefix !== "" && part.prefix !== options.prefix);
    if (!grouping && customName && part.type === "segment-wildcard" && part.modifier === "" && next !== undefined && next.prefix === "" && next.suffix === "") {
      grouping = next.type === "fixed-text" ? next.value !== "" && isNamePart([...next.value][0]!) : /^[0-9]/.test(next.name);
    }
    if (!grouping && part.prefix === "" && previous !== undefined && previous.type === "fixed-text" && previous.value.endsWith(options.prefix) && options.prefix !== "") grouping = true;
    if (grouping) result += "{";
    result += escapePattern(part.prefix);
    if (customName) result += `:${part.name}`;
    if (part.type === "regexp") result += `(${part.value})`;
    else if (part.type === "segment-wildcard" && !customName) result += `(${segmentWildcard(options)})`;
    else if (part.type === "full-wildcard") {
      result += !customName && (previous === undefined || previous.type === "fixed-text" || previous.modifier !== "" || grouping || part.prefix !== "") ? "*" : "(.*)";
    }
    if (part.type === "segment-wildcard" && customName && part.suffix !== "" && isNamePart([...part.suffix][0]!)) result += "\\";
    result += escapePattern(part.suffix);
    if (grouping) result += "}";
    result += part.modifier;
  }
  return result;
}

// — canonicalisation (component encoding callbacks) —

const components = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"] as const;
type Component = (typeof components)[number];
type Init = Partial<Record<Component | "baseURL", string>>;

/** The spec's "create a dummy URL": https://dummy.invalid/, parsed. */
function dummyRecord(): URLRecord {
  return parseURL("https://dummy.invalid/")!;
}
function dummy(): URL {
  return new URL("https://dummy.invalid/");
}

function canonicalProtocol(value: string): string {
  if (value === "") return value;
  const parsed = parseURL(`${value}://dummy.invalid/`);
  if (parsed === null) throw new TypeError(`Invalid protocol "${value}"`);
  return parsed.scheme;
}
function canonicalUsername(value: string): string {
  if (value === "") return value;
  const u = dummy();
  u.username = value;
  return u.username;
}
function canonicalPassword(value: string): string {
  if (value === "") return value;
  const u = dummy();
  u.password = value;
  return u.password;
}
/** The basic URL parser in hostname state over a dummy URL: "bad#x" is "bad", "a\nb" is "ab". */
function canonicalHostname(value: string): string {
  if (value === "") return value;
  const url = dummyRecord();
  if (basicURLParse(toScalarValueString(value), null, url, HOSTNAME_STATE) === null) throw new TypeError(`Invalid hostname "${value}"`);
  return url.host ?? "";
}
/** The basic URL parser in port state; the scheme (when given) makes its default port "". */
function canonicalPort(value: string, protocol?: string): string {
  if (value === "") return value;
  const url = dummyRecord();
  url.scheme = protocol ?? "";
  if (basicURLParse(toScalarValueString(value), null, url, PORT_STATE) === null) throw new TypeError(`Invalid port "${value}"`);
  return url.port === null ? "" : String(url.port);
}
/** "hostname pattern is an IPv6 address": the whole pattern decides which encoder its parts get. */
function hostnameIsIPv6(pattern: string): boolean {
  const cps = [...pattern];
  if (cps.length < 2) return false;
  return cps[0] === "[" || ((cps[0] === "{" || cps[0] === "\\") && cps[1] === "[");
}
function canonicalIPv6(value: string): string {
  let result = "";
  for (const c of value) {
    if (!/[0-9a-fA-F[\]:]/.test(c)) throw new TypeError(`Invalid IPv6 hostname "${value}"`);
    result += c.toLowerCase();
  }
  return result;
}
function canonicalPathname(value: string): string {
  if (value === "") return value;
  const leadingSlash = value.startsWith("/");
  const u = dummy();
  u.pathname = leadingSlash ? value : `/-${value}`;
  return leadingSlash ? u.pathname : u.pathname.slice(2);
}
function canonicalOpaquePathname(value: string): string {
  if (value === "") return value;
  const url = dummyRecord();
  url.path = "";
  url.opaquePath = true;
  if (basicURLParse(toScalarValueString(value), null, url, OPAQUE_PATH_STATE) === null) throw new TypeError(`Invalid pathname "${value}"`);
  return url.path;
}
function canonicalSearch(value: string): string {
  if (value === "") return value;
  const url = dummyRecord();
  url.query = "";
  basicURLParse(toScalarValueString(value), null, url, QUERY_STATE);
  return url.query ?? "";
}
function canonicalHash(value: string): string {
  if (value === "") return value;
  const url = dummyRecord();
  url.fragment = "";
  basicURLParse(toScalarValueString(value), null, url, FRAGMENT_STATE);
  return url.fragment ?? "";
}

const defaultPorts: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443", ftp: "21" };

/** §3 "process a URLPatternInit". */
function processInit(init: Init, type: "pattern" | "url", defaults: Init): Init {
  const result: Init = { ...defaults };
  let base: URL | null = null;
  if (init.baseURL !== undefined) {
    try {
      base = new URL(init.baseURL);
    } catch {
      throw new TypeError(`Invalid baseURL "${init.baseURL}"`);
    }
    const pick = (c: Component, v: string) => (type === "pattern" ? escapePattern(v) : v);
    if (init.protocol === undefined) result.protocol = pick("protocol", base.protocol.slice(0, -1));
    if (type !== "pattern" && init.protocol === undefined && init.hostname === undefined && init.port === undefined && init.username === undefined) result.username = base.username;
    if (type !== "pattern" && init.protocol === undefined && init.hostname === undefined && init.port === undefined && init.username === undefined && init.password === undefined) result.password = base.password;
    if (init.protocol === undefined && init.hostname === undefined) result.hostname = pick("hostname", base.hostname);
    if (init.protocol === undefined && init.hostname === undefined && init.port === undefined) result.port = base.port;
    if (init.protocol === undefined && init.hostname === undefined && init.port === undefined && init.pathname === undefined) result.pathname = pick("pathname", base.pathname);
    if (init.protocol === undefined && init.hostname === undefined && init.port === undefined && init.pathname === undefined && init.search === undefined) result.search = pick("search", base.search.slice(1));
    if (init.protocol === undefined && init.hostname === undefined && init.port === undefined && init.pathname === undefined && init.search === undefined && init.hash === undefined) result.hash = pick("hash", base.hash.slice(1));
  }
  const isPattern = type === "pattern";
  if (init.protocol !== undefined) {
    const v = init.protocol.replace(/:$/, "");
    result.protocol = isPattern ? v : canonicalProtocol(v);
  }
  if (init.username !== undefined) result.username = isPattern ? init.username : canonicalUsername(init.username);
  if (init.password !== undefined) result.password = isPattern ? init.password : canonicalPassword(init.password);
  if (init.hostname !== undefined) result.hostname = isPattern ? init.hostname : canonicalHostname(init.hostname);
  if (init.port !== undefined) result.port = isPattern ? init.port : canonicalPort(init.port, result.protocol);
  if (init.pathname !== undefined) {
    let p = init.pathname;
    if (base !== null && !base.href.startsWith(`${base.protocol}`) === false && !p.startsWith("/") && !(isPattern && (p.startsWith("\\/") || p.startsWith("{/")))) {
      const basePath = isPattern ? escapePattern(base.pathname) : base.pathname;
      const slash = basePath.lastIndexOf("/");
      if (slash >= 0) p = basePath.slice(0, slash + 1) + p;
    }
    result.pathname = isPattern ? p : isSpecialScheme(result.protocol ?? "") || (result.protocol ?? "") === "" ? canonicalPathname(p) : canonicalOpaquePathname(p);
  }
  if (init.search !== undefined) {
    const v = init.search.replace(/^\?/, "");
    result.search = isPattern ? v : canonicalSearch(v);
  }
  if (init.hash !== undefined) {
    const v = init.hash.replace(/^#/, "");
    result.hash = isPattern ? v : canonicalHash(v);
  }
  return result;
}

// — constructor string parser (§2.2), for patterns like "https://*.example.com/books/:id" —

function parseConstructorString(input: string): Init {
  const tokens = tokenize(input, false);
  const result: Init = {};
  type State = "init" | "protocol" | "authority" | "username" | "password" | "hostname" | "port" | "pathname" | "search" | "hash" | "done";
  let state = "init" as State;
  let tokenIndex = 0;
  let increment = 1;
  let componentStart = 0;
  let groupDepth = 0;
  let ipv6Depth = 0;
  let protocolMatchesSpecial = false;
  const get = (i: number) => tokens[Math.min(i, tokens.length - 1)]!;
  const isNonSpecialChar = (i: number, v: string) => {
    const t = get(i);
    return t.value === v && (t.type === "char" || t.type === "escaped-char" || t.type === "invalid-char");
  };
  const chars = [...input];
  const componentString = () => {
    const start = get(componentStart).index;
    const end = get(tokenIndex).index;
    return chars.slice(start, end).join("");
  };
  const changeState = (next: State, skip: number) => {
    if (state !== "init" && state !== "authority" && state !== "done") result[state] = componentString();
    if (state !== "init" && next !== "done") {
      if ((state === "protocol" || state === "authority" || state === "username" || state === "password") && (next === "port" || next === "pathname" || next === "search" || next === "hash") && result.hostname === undefined) result.hostname = "";
      if ((state === "protocol" || state === "authority" || state === "username" || state === "password" || state === "hostname" || state === "port") && (next === "search" || next === "hash") && result.pathname === undefined) {
        result.pathname = protocolMatchesSpecial ? "/" : "";
      }
      if ((state === "protocol" || state === "authority" || state === "username" || state === "password" || state === "hostname" || state === "port" || state === "pathname") && next === "hash" && result.search === undefined) result.search = "";
    }
    state = next;
    tokenIndex += skip;
    componentStart = tokenIndex;
    increment = 0;
  };
  const rewind = () => {
    tokenIndex = componentStart;
    increment = 0;
  };
  const rewindAndSet = (next: State) => {
    rewind();
    state = next;
  };
  const isGroupOpen = (i: number) => get(i).type === "open";
  const isGroupClose = (i: number) => get(i).type === "close";
  const isPatternChar = isNonSpecialChar;
  // "is a search prefix": a `?` is a modifier after a name, regexp, group or `*`, else the query.
  const isSearchPrefix = (i: number) => {
    if (isNonSpecialChar(i, "?")) return true;
    if (get(i).value !== "?") return false;
    if (i - 1 < 0) return true;
    const previous = get(i - 1).type;
    return previous !== "name" && previous !== "regexp" && previous !== "close" && previous !== "asterisk";
  };
  while (tokenIndex < tokens.length) {
    increment = 1;
    const token = get(tokenIndex);
    if (token.type === "end") {
      if (state === "init") {
        rewind();
        if (isPatternChar(tokenIndex, "#")) changeState("hash", 1);
        else if (isSearchPrefix(tokenIndex)) changeState("search", 1);
        else changeState("pathname", 0);
        tokenIndex += increment;
        continue;
      }
      if (state === "authority") {
        rewindAndSet("hostname");
        tokenIndex += increment;
        continue;
      }
      changeState("done", 0);
      break;
    }
    if (isGroupOpen(tokenIndex)) {
      groupDepth++;
      tokenIndex += increment;
      continue;
    }
    if (groupDepth > 0) {
      if (isGroupClose(tokenIndex)) groupDepth--;
      else {
        tokenIndex += increment;
        continue;
      }
    }
    switch (state) {
      case "init":
        if (isPatternChar(tokenIndex, ":")) {
          rewindAndSet("protocol");
        }
        break;
      case "protocol":
        if (isPatternChar(tokenIndex, ":")) {
          const protocol = componentString();
          let special = false;
          try {
            const parts = parsePattern(protocol, { delimiter: "", prefix: "", ignoreCase: false }, canonicalProtocol);
            const { regexp } = toRegExp(parts, { delimiter: "", prefix: "", ignoreCase: false });
            special = ["http", "https", "ws", "wss", "ftp", "file"].some((s) => regexp.test(s));
          } catch {}
          protocolMatchesSpecial = special;
          let next: State = "pathname";
          let skip = 1;
          if (isPatternChar(tokenIndex + 1, "/") && isPatternChar(tokenIndex + 2, "/")) {
            next = "authority";
            skip = 3;
          } else if (protocolMatchesSpecial) next = "authority";
          changeState(next, skip);
        }
        break;
      case "authority":
        if (isPatternChar(tokenIndex, "@")) {
          rewindAndSet("username");
        } else if (isPatternChar(tokenIndex, "/") || isSearchPrefix(tokenIndex) || isPatternChar(tokenIndex, "#")) {
          rewindAndSet("hostname");
        }
        break;
      case "username":
        if (isPatternChar(tokenIndex, ":")) changeState("password", 1);
        else if (isPatternChar(tokenIndex, "@")) changeState("hostname", 1);
        break;
      case "password":
        if (isPatternChar(tokenIndex, "@")) changeState("hostname", 1);
        break;
      case "hostname":
        if (isPatternChar(tokenIndex, "[")) ipv6Depth++;
        else if (isPatternChar(tokenIndex, "]")) ipv6Depth--;
        else if (isPatternChar(tokenIndex, ":") && ipv6Depth === 0) changeState("port", 1);
        else if (isPatternChar(tokenIndex, "/")) changeState("pathname", 0);
        else if (isSearchPrefix(tokenIndex)) changeState("search", 1);
        else if (isPatternChar(tokenIndex, "#")) changeState("hash", 1);
        break;
      case "port":
        if (isPatternChar(tokenIndex, "/")) changeState("pathname", 0);
        else if (isSearchPrefix(tokenIndex)) changeState("search", 1);
        else if (isPatternChar(tokenIndex, "#")) changeState("hash", 1);
        break;
      case "pathname":
        if (isSearchPrefix(tokenIndex)) changeState("search", 1);
        else if (isPatternChar(tokenIndex, "#")) changeState("hash", 1);
        break;
      case "search":
        if (isPatternChar(tokenIndex, "#")) changeState("hash", 1);
        break;
    }
    tokenIndex += increment;
  }
  // A pattern that names a host but no port means the default port, not any port.
  if (result.hostname !== undefined && result.port === undefined) result.port = "";
  return result;
}

// — URLPattern —

interface Compiled {
  pattern: string;
  regexp: RegExp;
  names: string[];
  hasRegExpGroups: boolean;
}

const compiledOf = new WeakMap<object, Record<Component, Compiled>>();

function initFromDictionary(value: unknown, context: string): Init {
  const dict = toDictionary(value, context, "URLPatternInit");
  const init: Init = {};
  for (const key of ["baseURL", ...components] as const) {
    const v = dictGet(dict, key);
    if (v !== undefined) init[key] = toUSVString(v);
  }
  return init;
}

function matchInput(input: unknown, baseURL: unknown): Record<Component, string> | null {
  let values: Init;
  if (typeof input === "string" || !isObject(input)) {
    const text = toUSVString(input ?? "");
    const base = baseURL === undefined ? undefined : toUSVString(baseURL);
    const parsed = parseURL(text, base);
    if (parsed === null) return null;
    values = {
      protocol: parsed.scheme,
      username: parsed.username,
      password: parsed.password,
      hostname: parsed.host ?? "",
      port: parsed.port === null ? "" : String(parsed.port),
      pathname: parsed.path,
      search: parsed.query ?? "",
      hash: parsed.fragment ?? "",
    };
  } else {
    if (baseURL !== undefined) throw new TypeError("URLPattern: a baseURL cannot be given with a URLPatternInit input");
    try {
      values = processInit(initFromDictionary(input, "URLPattern"), "url", { protocol: "", username: "", password: "", hostname: "", port: "", pathname: "", search: "", hash: "" });
    } catch {
      return null;
    }
  }
  return values as Record<Component, string>;
}

export class URLPattern {
  // Getters defined on the prototype below, one per component; declared for the type checker.
  declare readonly protocol: string;
  declare readonly username: string;
  declare readonly password: string;
  declare readonly hostname: string;
  declare readonly port: string;
  declare readonly pathname: string;
  declare readonly search: string;
  declare readonly hash: string;

  constructor(input: unknown = {}, baseURLOrOptions?: unknown, maybeOptions?: unknown) {
    const context = "Failed to construct 'URLPattern'";
    let baseURL: string | undefined;
    let options: unknown = maybeOptions;
    if (typeof baseURLOrOptions === "string") baseURL = baseURLOrOptions;
    else if (baseURLOrOptions !== undefined) options = baseURLOrOptions;
    const ignoreCase = Boolean(dictGet(toDictionary(options, context, "URLPatternOptions"), "ignoreCase"));
    let init: Init;
    if (typeof input === "string") {
      init = parseConstructorString(input);
      if (baseURL === undefined && init.protocol === undefined) throw new TypeError(`${context}: a relative pattern needs a baseURL`);
      if (baseURL !== undefined) init.baseURL = baseURL;
    } else {
      if (baseURL !== undefined) throw new TypeError(`${context}: a baseURL cannot be given with a URLPatternInit`);
      init = initFromDictionary(input, context);
    }
    const processed = processInit(init, "pattern", {});
    for (const c of components) processed[c] ??= "*";
    if (defaultPorts[processed.protocol!] === processed.port) processed.port = "";
    const protocolParts = parsePattern(processed.protocol!, { delimiter: "", prefix: "", ignoreCase }, canonicalProtocol);
    const protocolRegExp = toRegExp(protocolParts, { delimiter: "", prefix: "", ignoreCase }).regexp;
    const special = ["http", "https", "ws", "wss", "ftp", "file"].some((s) => protocolRegExp.test(s));
    const compiled = {} as Record<Component, Compiled>;
    for (const c of components) {
      const opts: Options =
        c === "hostname" ? { delimiter: ".", prefix: "", ignoreCase } : c === "pathname" && special ? { delimiter: "/", prefix: "/", ignoreCase } : { delimiter: "", prefix: "", ignoreCase };
      const encode =
        c === "protocol" ? canonicalProtocol
        : c === "username" ? canonicalUsername
        : c === "password" ? canonicalPassword
        : c === "hostname" ? (hostnameIsIPv6(processed.hostname!) ? canonicalIPv6 : canonicalHostname)
        : c === "port" ? (v: string) => canonicalPort(v)
        : c === "pathname" ? (special ? canonicalPathname : canonicalOpaquePathname)
        : c === "search" ? canonicalSearch
        : canonicalHash;
      const parts = parsePattern(processed[c]!, opts, encode);
      const { regexp, names } = toRegExp(parts, opts);
      compiled[c] = { pattern: toPatternString(parts, opts), regexp, names, hasRegExpGroups: parts.some((p) => p.type === "regexp") };
    }
    compiledOf.set(this, compiled);
  }

  test(input: unknown = {}, baseURL?: unknown): boolean {
    return this.exec(input, baseURL) !== null;
  }

  exec(input: unknown = {}, baseURL?: unknown): URLPatternResult | null {
    const compiled = compiledOf.get(this);
    if (compiled === undefined) throw illegalInvocation();
    const values = matchInput(input, baseURL);
    if (values === null) return null;
    const result: Record<string, unknown> = { inputs: baseURL === undefined ? [input] : [input, baseURL] };
    for (const c of components) {
      const m = compiled[c].regexp.exec(values[c]);
      if (m === null) return null;
      const groups: Record<string, string | undefined> = {};
      compiled[c].names.forEach((name, i) => (groups[name] = m[i + 1]));
      result[c] = { input: values[c], groups };
    }
    return result as unknown as URLPatternResult;
  }

  get hasRegExpGroups(): boolean {
    const compiled = compiledOf.get(this);
    if (compiled === undefined) throw illegalInvocation();
    return components.some((c) => compiled[c].hasRegExpGroups);
  }
}
for (const c of components) {
  Object.defineProperty(URLPattern.prototype, c, {
    get(this: object) {
      const compiled = compiledOf.get(this);
      if (compiled === undefined) throw illegalInvocation();
      return compiled[c].pattern;
    },
    enumerable: true,
    configurable: true,
  });
}
defineInterface(URLPattern, "URLPattern");

export interface URLPatternResult {
  inputs: unknown[];
  protocol: { input: string; groups: Record<string, string | undefined> };
  username: { input: string; groups: Record<string, string | undefined> };
  password: { input: string; groups: Record<string, string | undefined> };
  hostname: { input: string; groups: Record<string, string | undefined> };
  port: { input: string; groups: Record<string, string | undefined> };
  pathname: { input: string; groups: Record<string, string | undefined> };
  search: { input: string; groups: Record<string, string | undefined> };
  hash: { input: string; groups: Record<string, string | undefined> };
}


