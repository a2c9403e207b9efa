/**
 * Fetch's "header list" (§2.2.2): the ordered list of (name, value) pairs behind a Headers
 * object, a Request and a Response, with the validity checks of §2.2.
 *
 * Names are stored lowercased: nothing in the Fetch API exposes the original case
 * (iteration lowercases, get/has are case-insensitive), and it makes every lookup a plain
 * string comparison. Lists are small (tens of entries), so linear scans beat a map.
 */
import {
  ArrayPrototypeJoin,
  ArrayPrototypePush,
  ArrayPrototypeSort,
  StringPrototypeCharCodeAt,
  StringPrototypeSlice,
  StringPrototypeToLowerCase,
  Uint8ArrayCtor,
} from "./intrinsics.ts";

// RFC 9110 token characters: ALPHA / DIGIT / "!#$%&'*+-.^_`|~".
const TOKEN = new Uint8ArrayCtor(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;

/** §2.2 "header name": a non-empty token. Also used for methods. */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

function isHTTPWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** §2.2 "normalize" a header value: strip leading and trailing HTTP whitespace bytes. */
export function normalizeHeaderValue(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHTTPWhitespace(StringPrototypeCharCodeAt(value, start))) start++;
  while (end > start && isHTTPWhitespace(StringPrototypeCharCodeAt(value, end - 1))) end--;
  return start === 0 && end === value.length ? value : StringPrototypeSlice(value, start, end);
}

/**
 * §2.2 "header value" check for an already-normalized value: no NUL, LF or CR, and every
 * code unit a byte (callers convert to ByteString first, which guarantees the latter).
 */
export function isValidHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = StringPrototypeCharCodeAt(value, i);
    if (c === 0x00 || c === 0x0a || c === 0x0d || c > 0xff) return false;
  }
  return true;
}

/** Lowercase an ASCII header name; `toLowerCase` would also fold non-ASCII, which a token never has. */
export function lowercaseName(name: string): string {
  return StringPrototypeToLowerCase(name);
}

export class HeaderList {
  /** Lowercased names, parallel to `values`. */
  names: string[] = [];
  values: string[] = [];
  /** "Sort and combine" result, cached until the next mutation. */
  #sorted: [string, string][] | null = null;

  get size(): number {
    return this.names.length;
  }

  /** Append a pair; `name` must already be lowercase. */
  append(name: string, value: string): void {
    ArrayPrototypePush(this.names, name);
    ArrayPrototypePush(this.values, value);
    this.#sorted = null;
  }

  contains(name: string): boolean {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return true;
    return false;
  }

  /** §2.2.2 "get": the values joined with ", ", or null. */
  get(name: string): string | null {
    const names = this.names;
    let result: string | null = null;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === name) result = result === null ? this.values[i]! : `${result}, ${this.values[i]!}`;
    }
    return result;
  }

  /** All values of `name`, uncombined (for Set-Cookie). */
  getAll(name: string): string[] {
    const out: string[] = [];
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) ArrayPrototypePush(out, this.values[i]!);
    return out;
  }

  delete(name: string): void {
    const names = this.names;
    const values = this.values;
    let w = 0;
    for (let r = 0; r < names.length; r++) {
      if (names[r] !== name) {
        names[w] = names[r]!;
        values[w] = values[r]!;
        w++;
      }
    }
    if (w !== names.length) {
      names.length = w;
      values.length = w;
      this.#sorted = null;
    }
  }

  /** §2.2.2 "set": replace the first value, drop the others, or append. */
  set(name: string, value: string): void {
    const names = this.names;
    const values = this.values;
    let w = 0;
    let found = false;
    for (let r = 0; r < names.length; r++) {
      if (names[r] === name) {
        if (found) continue;
        found = true;
        values[r] = value;
      }
      names[w] = names[r]!;
      values[w] = values[r]!;
      w++;
    }
    names.length = w;
    values.length = w;
    if (!found) {
      ArrayPrototypePush(names, name);
      ArrayPrototypePush(values, value);
    }
    this.#sorted = null;
  }

  clear(): void {
    this.names = [];
    this.values = [];
    this.#sorted = null;
  }

  clone(): HeaderList {
    const copy = new HeaderList();
    copy.names = this.names.slice();
    copy.values = this.values.slice();
    return copy;
  }

  /**
   * §2.2.2 "sort and combine": names sorted, values of the same name joined with ", ",
   * except Set-Cookie whose values each stay a separate pair.
   */
  sortAndCombine(): [string, string][] {
    if (this.#sorted !== null) return this.#sorted;
    const names = this.names;
    const values = this.values;
    const n = names.length;
    const order: number[] = [];
    for (let i = 0; i < n; i++) order[i] = i;
    // Stable sort by name keeps same-name values in list order, as "get" joins them.
    ArrayPrototypeSort(order, (a, b) => {
      const na = names[a]!;
      const nb = names[b]!;
      return na < nb ? -1 : na > nb ? 1 : a - b;
    });
    const out: [string, string][] = [];
    let i = 0;
    while (i < n) {
      const name = names[order[i]!]!;
      if (name === "set-cookie") {
        ArrayPrototypePush(out, [name, values[order[i]!]!]);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < n && names[order[j]!] === name) j++;
      if (j === i + 1) {
        ArrayPrototypePush(out, [name, values[order[i]!]!]);
      } else {
        const parts: string[] = [];
        for (let k = i; k < j; k++) ArrayPrototypePush(parts, values[order[k]!]!);
        ArrayPrototypePush(out, [name, ArrayPrototypeJoin(parts, ", ")]);
      }
      i = j;
    }
    this.#sorted = out;
    return out;
  }
}
