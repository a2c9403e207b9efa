/**
 * The URL record, the basic URL parser and the URL serializer (URL §4,
 * https://url.spec.whatwg.org/#urls).
 *
 * Representation choices, none observable:
 * - the host is stored serialized (see url-host.ts);
 * - a list path is stored as its serialization ("/a/b", "" for « »), so shortening is a
 *   lastIndexOf and the pathname getter and href are concatenation; an opaque path is
 *   the string itself with `opaquePath` set;
 * - the state machine walks UTF-16 code units but treats a surrogate pair as the one code
 *   point it is (width 2), and "decrease pointer by 1" becomes "process c again".
 *
 * Runs of code points that need no per-character work (scheme, userinfo, host, path
 * segments, query, fragment) are consumed in one step by slicing, which is what makes the
 * parser fast enough for the request hot path; the results are the spec's exactly.
 */
import {
  StringPrototypeCharCodeAt,
  StringPrototypeIndexOf,
  StringPrototypeIsWellFormed,
  StringPrototypeSlice,
  StringPrototypeToLowerCase,
  StringPrototypeToWellFormed,
} from "./intrinsics.ts";
import { parseHost } from "./url-host.ts";
import {
  C0_CONTROL_SET,
  FRAGMENT_SET,
  PATH_SET,
  QUERY_SET,
  SPECIAL_QUERY_SET,
  USERINFO_SET,
  inEncodeSet,
  utf8PercentEncode,
  utf8PercentEncodeCodePoint,
} from "./percent-encode.ts";

const StringPrototypeLastIndexOf = Function.prototype.call.bind(String.prototype.lastIndexOf) as (
  self: string,
  search: string,
  position?: number,
) => number;

/** A URL record (URL §4.1). Internal: never handed to user code. */
export class URLRecord {
  scheme = "";
  username = "";
  password = "";
  /** Serialized host; null when the URL has none. */
  host: string | null = null;
  port: number | null = null;
  /** Serialized list path ("/a/b"; "" is the empty list), or the opaque path itself. */
  path = "";
  opaquePath = false;
  query: string | null = null;
  fragment: string | null = null;
}

// Parser states (URL §4.4). Plain numbers: no enums in erasable TypeScript.
export const SCHEME_START_STATE = 1;
const SCHEME_STATE = 2;
const NO_SCHEME_STATE = 3;
const SPECIAL_RELATIVE_OR_AUTHORITY_STATE = 4;
const PATH_OR_AUTHORITY_STATE = 5;
const RELATIVE_STATE = 6;
const RELATIVE_SLASH_STATE = 7;
const SPECIAL_AUTHORITY_SLASHES_STATE = 8;
const SPECIAL_AUTHORITY_IGNORE_SLASHES_STATE = 9;
const AUTHORITY_STATE = 10;
export const HOST_STATE = 11;
export const HOSTNAME_STATE = 12;
export const PORT_STATE = 13;
const FILE_STATE = 14;
const FILE_SLASH_STATE = 15;
const FILE_HOST_STATE = 16;
export const PATH_START_STATE = 17;
const PATH_STATE = 18;
export const OPAQUE_PATH_STATE = 19;
export const QUERY_STATE = 20;
export const FRAGMENT_STATE = 21;

const EOF = -1;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const HASH = 0x23;
const DOT = 0x2e;
const SLASH = 0x2f;
const COLON = 0x3a;
const QUESTION = 0x3f;
const AT = 0x40;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const PIPE = 0x7c;

/** The default port of a special scheme, null for "file", undefined when not special (URL §4.2). */
export function specialSchemeDefaultPort(scheme: string): number | null | undefined {
  switch (scheme) {
    case "http":
    case "ws":
      return 80;
    case "https":
    case "wss":
      return 443;
    case "ftp":
      return 21;
    case "file":
      return null;
    default:
      return undefined;
  }
}

export function isSpecialScheme(scheme: string): boolean {
  return specialSchemeDefaultPort(scheme) !== undefined;
}

function defaultPort(scheme: string): number | null {
  const port = specialSchemeDefaultPort(scheme);
  return port === undefined ? null : port;
}

function isASCIIAlpha(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

function isASCIIDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isSchemeCodePoint(c: number): boolean {
  return isASCIIAlpha(c) || isASCIIDigit(c) || c === 0x2b || c === 0x2d || c === DOT;
}

/** URL "includes credentials" (URL §4.2). */
export function includesCredentials(url: URLRecord): boolean {
  return url.username !== "" || url.password !== "";
}

/** URL "cannot have a username/password/port" (URL §4.2). */
export function cannotHaveUsernamePasswordPort(url: URLRecord): boolean {
  return url.host === null || url.host === "" || url.scheme === "file";
}

/** A Windows drive letter (URL §4.2): ASCII alpha followed by ":" or "|"; `normalized` wants ":". */
function isWindowsDriveLetterAt(s: string, i: number, end: number, normalized: boolean): boolean {
  if (end - i !== 2) return false;
  const second = StringPrototypeCharCodeAt(s, i + 1);
  return isASCIIAlpha(StringPrototypeCharCodeAt(s, i)) && (second === COLON || (!normalized && second === PIPE));
}

/** "starts with a Windows drive letter" (URL §4.2), for the substring of `s` from `i`. */
function startsWithWindowsDriveLetter(s: string, i: number): boolean {
  const len = s.length;
  if (len - i < 2) return false;
  if (!isWindowsDriveLetterAt(s, i, i + 2, false)) return false;
  if (len - i === 2) return true;
  const third = StringPrototypeCharCodeAt(s, i + 2);
  return third === SLASH || third === BACKSLASH || third === QUESTION || third === HASH;
}

/** The first segment of a list path is a normalized Windows drive letter ("/C:" or "/C:/…"). */
function firstSegmentIsNormalizedDriveLetter(path: string): boolean {
  return (
    path.length >= 3 &&
    isWindowsDriveLetterAt(path, 1, 3, true) &&
    (path.length === 3 || StringPrototypeCharCodeAt(path, 3) === SLASH)
  );
}

/** Shorten a URL's path (URL §4.2). */
function shortenPath(url: URLRecord): void {
  const path = url.path;
  // A file URL's lone drive letter segment stays: "file:///C:/.." is "file:///C:/".
  if (url.scheme === "file" && path.length === 3 && isWindowsDriveLetterAt(path, 1, 3, true)) return;
  const slash = StringPrototypeLastIndexOf(path, "/");
  if (slash !== -1) url.path = StringPrototypeSlice(path, 0, slash);
}

/** A single-dot URL path segment: "." or "%2e" in any case (URL §4.1). */
function isSingleDotSegment(s: string): boolean {
  return s === "." || (s.length === 3 && StringPrototypeToLowerCase(s) === "%2e");
}

/** A double-dot URL path segment: "..", ".%2e", "%2e." or "%2e%2e" in any case (URL §4.1). */
function isDoubleDotSegment(s: string): boolean {
  switch (s.length) {
    case 2:
      return s === "..";
    case 4: {
      const l = StringPrototypeToLowerCase(s);
      return l === ".%2e" || l === "%2e.";
    }
    case 6:
      return StringPrototypeToLowerCase(s) === "%2e%2e";
    default:
      return false;
  }
}

/**
 * Strip leading and trailing C0 control or space (only when no URL is given), then every
 * ASCII tab or newline (URL §4.4 steps 1–3). Returns the input itself when already clean.
 */
function preprocess(input: string, trim: boolean): string {
  let start = 0;
  let end = input.length;
  if (trim) {
    while (start < end && StringPrototypeCharCodeAt(input, start) <= SPACE) start++;
    while (end > start && StringPrototypeCharCodeAt(input, end - 1) <= SPACE) end--;
  }
  let out = "";
  let runStart = start;
  for (let i = start; i < end; i++) {
    const c = StringPrototypeCharCodeAt(input, i);
    if (c === TAB || c === LF || c === CR) {
      out += StringPrototypeSlice(input, runStart, i);
      runStart = i + 1;
    }
  }
  if (runStart === 0 && end === input.length) return input;
  return out + StringPrototypeSlice(input, runStart, end);
}

/**
 * The basic URL parser (URL §4.4). Without `url` it returns a new URL record or null for
 * failure. With `url` and `stateOverride` (the URL setters) it modifies `url` in place and
 * returns null only where the spec returns failure; the setters ignore that distinction.
 * `input` must be a scalar value string (the API converts to USVString first).
 */
export function basicURLParse(
  rawInput: string,
  base: URLRecord | null,
  givenURL?: URLRecord,
  stateOverride = 0,
): URLRecord | null {
  const url = givenURL ?? new URLRecord();
  const input = preprocess(rawInput, givenURL === undefined);
  const len = input.length;
  const hasOverride = stateOverride !== 0;
  let state = hasOverride ? stateOverride : SCHEME_START_STATE;
  let buffer = "";
  let atSignSeen = false;
  let insideBrackets = false;
  let passwordTokenSeen = false;
  let special = isSpecialScheme(url.scheme);
  let portValue = -1; // the port state's buffer, as a number (-1: empty)

  let pointer = 0;
  for (;;) {
    // c and its width in code units; EOF past the end.
    let c = EOF;
    let w = 1;
    if (pointer < len) {
      c = StringPrototypeCharCodeAt(input, pointer);
      if (c >= 0xd800 && c <= 0xdbff && pointer + 1 < len) {
        const d = StringPrototypeCharCodeAt(input, pointer + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          w = 2;
        }
      }
    }
    // Where the next run starts. "Decrease pointer by 1" is `next = pointer` (c again).
    let next = pointer + w;

    switch (state) {
      case SCHEME_START_STATE:
        if (isASCIIAlpha(c)) {
          state = SCHEME_STATE;
          next = pointer; // the scheme state takes the whole run of scheme code points
        } else if (!hasOverride) {
          state = NO_SCHEME_STATE;
          next = pointer;
        } else {
          return null;
        }
        break;

      case SCHEME_STATE:
        if (c !== EOF && isSchemeCodePoint(c)) {
          let end = pointer + 1;
          while (end < len && isSchemeCodePoint(StringPrototypeCharCodeAt(input, end))) end++;
          buffer += StringPrototypeToLowerCase(StringPrototypeSlice(input, pointer, end));
          next = end;
        } else if (c === COLON) {
          if (hasOverride) {
            const bufferSpecial = isSpecialScheme(buffer);
            if (special !== bufferSpecial) return url;
            if ((includesCredentials(url) || url.port !== null) && buffer === "file") return url;
            if (url.scheme === "file" && url.host === "") return url;
          }
          url.scheme = buffer;
          special = isSpecialScheme(buffer);
          if (hasOverride) {
            if (url.port !== null && url.port === defaultPort(url.scheme)) url.port = null;
            return url;
          }
          buffer = "";
          if (url.scheme === "file") {
            state = FILE_STATE;
          } else if (special && base !== null && base.scheme === url.scheme) {
            state = SPECIAL_RELATIVE_OR_AUTHORITY_STATE;
          } else if (special) {
            state = SPECIAL_AUTHORITY_SLASHES_STATE;
          } else if (pointer + 1 < len && StringPrototypeCharCodeAt(input, pointer + 1) === SLASH) {
            state = PATH_OR_AUTHORITY_STATE;
            next = pointer + 2;
          } else {
            url.path = "";
            url.opaquePath = true;
            state = OPAQUE_PATH_STATE;
          }
        } else if (!hasOverride) {
          // Not a scheme after all: start over from the first code point.
          buffer = "";
          state = NO_SCHEME_STATE;
          next = 0;
        } else {
          return null;
        }
        break;

      case NO_SCHEME_STATE:
        if (base === null || (base.opaquePath && c !== HASH)) return null;
        if (base.opaquePath && c === HASH) {
          url.scheme = base.scheme;
          special = isSpecialScheme(url.scheme);
          url.path = base.path;
          url.opaquePath = true;
          url.query = base.query;
          url.fragment = "";
          state = FRAGMENT_STATE;
        } else {
          state = base.scheme !== "file" ? RELATIVE_STATE : FILE_STATE;
          next = pointer;
        }
        break;

      case SPECIAL_RELATIVE_OR_AUTHORITY_STATE:
        if (c === SLASH && pointer + 1 < len && StringPrototypeCharCodeAt(input, pointer + 1) === SLASH) {
          state = SPECIAL_AUTHORITY_IGNORE_SLASHES_STATE;
          next = pointer + 2;
        } else {
          state = RELATIVE_STATE;
          next = pointer;
        }
        break;

      case PATH_OR_AUTHORITY_STATE:
        if (c === SLASH) {
          state = AUTHORITY_STATE;
        } else {
          state = PATH_STATE;
          next = pointer;
        }
        break;

      case RELATIVE_STATE: {
        const b = base!;
        url.scheme = b.scheme;
        special = isSpecialScheme(url.scheme);
        if (c === SLASH || (special && c === BACKSLASH)) {
          state = RELATIVE_SLASH_STATE;
        } else {
          url.username = b.username;
          url.password = b.password;
          url.host = b.host;
          url.port = b.port;
          url.path = b.path;
          url.opaquePath = b.opaquePath;
          url.query = b.query;
          if (c === QUESTION) {
            url.query = "";
            state = QUERY_STATE;
          } else if (c === HASH) {
            url.fragment = "";
            state = FRAGMENT_STATE;
          } else if (c !== EOF) {
            url.query = null;
            shortenPath(url);
            state = PATH_STATE;
            next = pointer;
          }
        }
        break;
      }

      case RELATIVE_SLASH_STATE:
        if (special && (c === SLASH || c === BACKSLASH)) {
          state = SPECIAL_AUTHORITY_IGNORE_SLASHES_STATE;
        } else if (c === SLASH) {
          state = AUTHORITY_STATE;
        } else {
          const b = base!;
          url.username = b.username;
          url.password = b.password;
          url.host = b.host;
          url.port = b.port;
          state = PATH_STATE;
          next = pointer;
        }
        break;

      case SPECIAL_AUTHORITY_SLASHES_STATE:
        state = SPECIAL_AUTHORITY_IGNORE_SLASHES_STATE;
        if (c === SLASH && pointer + 1 < len && StringPrototypeCharCodeAt(input, pointer + 1) === SLASH) {
          next = pointer + 2;
        } else {
          next = pointer;
        }
        break;

      case SPECIAL_AUTHORITY_IGNORE_SLASHES_STATE:
        if (c !== SLASH && c !== BACKSLASH) {
          state = AUTHORITY_STATE;
          next = pointer;
        }
        break;

      case AUTHORITY_STATE:
        if (c === AT) {
          if (atSignSeen) buffer = `%40${buffer}`;
          atSignSeen = true;
          // Everything up to the first ":" ever seen is the username, the rest the password.
          if (!passwordTokenSeen) {
            const colon = StringPrototypeIndexOf(buffer, ":");
            if (colon === -1) {
              url.username += utf8PercentEncode(buffer, USERINFO_SET);
            } else {
              passwordTokenSeen = true;
              url.username += utf8PercentEncode(StringPrototypeSlice(buffer, 0, colon), USERINFO_SET);
              url.password += utf8PercentEncode(StringPrototypeSlice(buffer, colon + 1), USERINFO_SET);
            }
          } else {
            url.password += utf8PercentEncode(buffer, USERINFO_SET);
          }
          buffer = "";
        } else if (c === EOF || c === SLASH || c === QUESTION || c === HASH || (special && c === BACKSLASH)) {
          if (atSignSeen && buffer === "") return null; // host-missing
          // Go back to where the buffer began and parse it as the host.
          next = pointer - buffer.length;
          buffer = "";
          state = HOST_STATE;
        } else {
          let end = pointer + w;
          while (end < len) {
            const d = StringPrototypeCharCodeAt(input, end);
            if (d === AT || d === SLASH || d === QUESTION || d === HASH || (special && d === BACKSLASH)) break;
            end++;
          }
          buffer += StringPrototypeSlice(input, pointer, end);
          next = end;
        }
        break;

      case HOST_STATE:
      case HOSTNAME_STATE:
        if (hasOverride && url.scheme === "file") {
          state = FILE_HOST_STATE;
          next = pointer;
        } else if (c === COLON && !insideBrackets) {
          if (buffer === "") return null; // host-missing
          if (stateOverride === HOSTNAME_STATE) return null;
          const host = parseHost(buffer, !special);
          if (host === null) return null;
          url.host = host;
          buffer = "";
          state = PORT_STATE;
        } else if (c === EOF || c === SLASH || c === QUESTION || c === HASH || (special && c === BACKSLASH)) {
          next = pointer;
          if (special && buffer === "") return null; // host-missing
          if (hasOverride && buffer === "" && (includesCredentials(url) || url.port !== null)) return null;
          const host = parseHost(buffer, !special);
          if (host === null) return null;
          url.host = host;
          buffer = "";
          state = PATH_START_STATE;
          if (hasOverride) return url;
        } else {
          // Append the run up to the next delimiter, tracking brackets as the spec does per c.
          let end = pointer;
          while (end < len) {
            const d = StringPrototypeCharCodeAt(input, end);
            if (d === OPEN_BRACKET) insideBrackets = true;
            else if (d === CLOSE_BRACKET) insideBrackets = false;
            else if (
              (d === COLON && !insideBrackets) ||
              d === SLASH ||
              d === QUESTION ||
              d === HASH ||
              (special && d === BACKSLASH)
            ) {
              break;
            }
            end++;
          }
          buffer += StringPrototypeSlice(input, pointer, end);
          next = end;
        }
        break;

      case PORT_STATE:
        if (isASCIIDigit(c)) {
          // Accumulate the value; past 65535 only "too big" matters (leading zeros are fine).
          portValue = portValue === -1 ? c - 0x30 : portValue * 10 + (c - 0x30);
          if (portValue > 65535) portValue = 65536;
        } else if (
          c === EOF ||
          c === SLASH ||
          c === QUESTION ||
          c === HASH ||
          (special && c === BACKSLASH) ||
          hasOverride
        ) {
          if (portValue !== -1) {
            if (portValue > 65535) return null; // port-out-of-range
            url.port = portValue === defaultPort(url.scheme) ? null : portValue;
            portValue = -1;
            if (hasOverride) return url;
          }
          if (hasOverride) return null;
          state = PATH_START_STATE;
          next = pointer;
        } else {
          return null; // port-invalid
        }
        break;

      case FILE_STATE:
        url.scheme = "file";
        special = true;
        url.host = "";
        if (c === SLASH || c === BACKSLASH) {
          state = FILE_SLASH_STATE;
        } else if (base !== null && base.scheme === "file") {
          url.host = base.host;
          url.path = base.path;
          url.opaquePath = false;
          url.query = base.query;
          if (c === QUESTION) {
            url.query = "";
            state = QUERY_STATE;
          } else if (c === HASH) {
            url.fragment = "";
            state = FRAGMENT_STATE;
          } else if (c !== EOF) {
            url.query = null;
            if (!startsWithWindowsDriveLetter(input, pointer)) shortenPath(url);
            else url.path = "";
            state = PATH_STATE;
            next = pointer;
          }
        } else {
          state = PATH_STATE;
          next = pointer;
        }
        break;

      case FILE_SLASH_STATE:
        if (c === SLASH || c === BACKSLASH) {
          state = FILE_HOST_STATE;
        } else {
          if (base !== null && base.scheme === "file") {
            url.host = base.host;
            if (!startsWithWindowsDriveLetter(input, pointer) && firstSegmentIsNormalizedDriveLetter(base.path)) {
              url.path += StringPrototypeSlice(base.path, 0, 3);
            }
          }
          state = PATH_STATE;
          next = pointer;
        }
        break;

      case FILE_HOST_STATE:
        if (c === EOF || c === SLASH || c === BACKSLASH || c === QUESTION || c === HASH) {
          next = pointer;
          if (!hasOverride && isWindowsDriveLetterAt(buffer, 0, buffer.length, false)) {
            // "file://C|/": the buffer is the first path segment, not a host.
            state = PATH_STATE;
          } else if (buffer === "") {
            url.host = "";
            if (hasOverride) return url;
            state = PATH_START_STATE;
          } else {
            let host = parseHost(buffer, !special);
            if (host === null) return null;
            if (host === "localhost") host = "";
            url.host = host;
            if (hasOverride) return url;
            buffer = "";
            state = PATH_START_STATE;
          }
        } else {
          buffer += StringPrototypeSlice(input, pointer, pointer + w);
        }
        break;

      case PATH_START_STATE:
        if (special) {
          state = PATH_STATE;
          if (c !== SLASH && c !== BACKSLASH) next = pointer;
        } else if (!hasOverride && c === QUESTION) {
          url.query = "";
          state = QUERY_STATE;
        } else if (!hasOverride && c === HASH) {
          url.fragment = "";
          state = FRAGMENT_STATE;
        } else if (c !== EOF) {
          state = PATH_STATE;
          if (c !== SLASH) next = pointer;
        } else if (hasOverride && url.host === null) {
          url.path += "/";
        }
        break;

      case PATH_STATE:
        if (
          c === EOF ||
          c === SLASH ||
          (special && c === BACKSLASH) ||
          (!hasOverride && (c === QUESTION || c === HASH))
        ) {
          const slashNext = c === SLASH || (special && c === BACKSLASH);
          if (isDoubleDotSegment(buffer)) {
            shortenPath(url);
            if (!slashNext) url.path += "/";
          } else if (isSingleDotSegment(buffer)) {
            if (!slashNext) url.path += "/";
          } else {
            if (url.scheme === "file" && url.path === "" && isWindowsDriveLetterAt(buffer, 0, buffer.length, false)) {
              buffer = `${StringPrototypeSlice(buffer, 0, 1)}:`;
            }
            url.path += `/${buffer}`;
          }
          buffer = "";
          if (c === QUESTION) {
            url.query = "";
            state = QUERY_STATE;
          } else if (c === HASH) {
            url.fragment = "";
            state = FRAGMENT_STATE;
          }
        } else if (c < 0x80 && !inEncodeSet(c, PATH_SET) && c !== BACKSLASH) {
          // A run of code points that neither end the segment nor need encoding.
          let end = pointer + 1;
          while (end < len) {
            const d = StringPrototypeCharCodeAt(input, end);
            if (d >= 0x80 || d === SLASH || d === BACKSLASH || inEncodeSet(d, PATH_SET)) break;
            end++;
          }
          buffer += StringPrototypeSlice(input, pointer, end);
          next = end;
        } else {
          buffer += utf8PercentEncodeCodePoint(c, PATH_SET);
        }
        break;

      case OPAQUE_PATH_STATE:
        if (c === QUESTION) {
          url.query = "";
          state = QUERY_STATE;
        } else if (c === HASH) {
          url.fragment = "";
          state = FRAGMENT_STATE;
        } else if (c !== EOF) {
          // Everything up to "?" or "#", C0-control-encoded; a space right before either
          // becomes "%20" so that the path cannot end in a space once serialized.
          let end = pointer;
          while (end < len) {
            const d = StringPrototypeCharCodeAt(input, end);
            if (d === QUESTION || d === HASH) break;
            end++;
          }
          let encoded = utf8PercentEncode(StringPrototypeSlice(input, pointer, end), C0_CONTROL_SET);
          if (end < len && StringPrototypeCharCodeAt(input, end - 1) === SPACE) {
            encoded = `${StringPrototypeSlice(encoded, 0, encoded.length - 1)}%20`;
          }
          url.path += encoded;
          next = end;
        }
        break;

      case QUERY_STATE: {
        // The whole query at once: up to "#" (unless a setter is parsing) or the end.
        let end = len;
        if (!hasOverride) {
          const hash = StringPrototypeIndexOf(input, "#", pointer);
          if (hash !== -1) end = hash;
        }
        if (pointer < end) {
          const set = special ? SPECIAL_QUERY_SET : QUERY_SET;
          url.query = (url.query ?? "") + utf8PercentEncode(StringPrototypeSlice(input, pointer, end), set);
        }
        if (end < len) {
          url.fragment = "";
          state = FRAGMENT_STATE;
          next = end + 1;
        } else {
          next = c === EOF ? pointer + 1 : len;
        }
        break;
      }

      case FRAGMENT_STATE:
        if (c !== EOF) {
          url.fragment = (url.fragment ?? "") + utf8PercentEncode(StringPrototypeSlice(input, pointer), FRAGMENT_SET);
          next = len;
        }
        break;
    }

    // "If after a run pointer points to the EOF code point, go to the next step."
    if (c === EOF && next > pointer) break;
    pointer = next;
  }
  return url;
}

/** The URL path serializer (URL §4.5). */
export function serializePath(url: URLRecord): string {
  return url.path;
}

/** The URL serializer (URL §4.5). */
export function serializeURL(url: URLRecord, excludeFragment = false): string {
  let output = `${url.scheme}:`;
  if (url.host !== null) {
    output += "//";
    if (url.username !== "" || url.password !== "") {
      output += url.username;
      if (url.password !== "") output += `:${url.password}`;
      output += "@";
    }
    output += url.host;
    if (url.port !== null) output += `:${url.port}`;
  } else if (!url.opaquePath && url.path.length > 1 && StringPrototypeCharCodeAt(url.path, 1) === SLASH) {
    // A first segment that is empty would read as an authority: "web+demo:/.//not-a-host/".
    output += "/.";
  }
  output += url.path;
  if (url.query !== null) output += `?${url.query}`;
  if (!excludeFragment && url.fragment !== null) output += `#${url.fragment}`;
  return output;
}

/** The serialization of a URL's origin (URL §4.7, HTML "serialization of an origin"). */
export function serializeOrigin(url: URLRecord): string {
  switch (url.scheme) {
    case "blob": {
      // No blob URL store in a worker: the origin is that of the URL in the path, if any.
      const pathURL = basicURLParse(serializePath(url), null);
      if (pathURL !== null && (pathURL.scheme === "http" || pathURL.scheme === "https")) {
        return serializeOrigin(pathURL);
      }
      return "null";
    }
    case "ftp":
    case "http":
    case "https":
    case "ws":
    case "wss":
      return url.port === null ? `${url.scheme}://${url.host}` : `${url.scheme}://${url.host}:${url.port}`;
    default:
      return "null";
  }
}

/** WebIDL USVString conversion of an already-string value. */
export function toScalarValueString(s: string): string {
  return StringPrototypeIsWellFormed(s) ? s : StringPrototypeToWellFormed(s);
}

/**
 * The API URL parser (URL §6.1): parse `base` (if given) then `input` against it.
 * Null for failure. The fast entry point for the runtime's own callers (fetch, Request).
 */
export function parseURL(input: string, base?: string | URLRecord | null): URLRecord | null {
  let parsedBase: URLRecord | null = null;
  if (base !== undefined && base !== null) {
    parsedBase = typeof base === "string" ? basicURLParse(toScalarValueString(base), null) : base;
    if (parsedBase === null) return null;
  }
  return basicURLParse(toScalarValueString(input), parsedBase);
}

/** A copy of a record, for callers that must not share one (URL objects own theirs). */
export function cloneURLRecord(url: URLRecord): URLRecord {
  const copy = new URLRecord();
  copy.scheme = url.scheme;
  copy.username = url.username;
  copy.password = url.password;
  copy.host = url.host;
  copy.port = url.port;
  copy.path = url.path;
  copy.opaquePath = url.opaquePath;
  copy.query = url.query;
  copy.fragment = url.fragment;
  return copy;
}
