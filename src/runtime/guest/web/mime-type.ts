/**
 * MIME types: parsing and serializing (MIME Sniffing §4.4, §4.5) and Fetch's "extract a
 * MIME type" from a header list (Fetch §3.1.7), which Body's blob() and formData() use.
 */
import type { HeaderList } from "./header-list.ts";
import { isToken } from "./header-list.ts";
import { ArrayPrototypePush, MapCtor, StringPrototypeCharCodeAt, StringPrototypeSlice, StringPrototypeToLowerCase } from "./intrinsics.ts";

export interface MimeType {
  type: string;
  subtype: string;
  parameters: Map<string, string>;
}

function isHTTPWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isQuotedStringTokenCodePoint(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

function trimHTTPWhitespace(s: string, leading: boolean): string {
  let start = 0;
  let end = s.length;
  if (leading) while (start < end && isHTTPWhitespace(StringPrototypeCharCodeAt(s, start))) start++;
  while (end > start && isHTTPWhitespace(StringPrototypeCharCodeAt(s, end - 1))) end--;
  return StringPrototypeSlice(s, start, end);
}

/** Fetch §2.2 "collect an HTTP quoted string", from `input[position]` (a `"`). Returns [result, newPosition]. */
export function collectHTTPQuotedString(input: string, position: number, extractValue: boolean): [string, number] {
  const positionStart = position;
  let value = "";
  position++;
  for (;;) {
    const start = position;
    while (position < input.length) {
      const c = StringPrototypeCharCodeAt(input, position);
      if (c === 0x22 || c === 0x5c) break;
      position++;
    }
    value += StringPrototypeSlice(input, start, position);
    if (position >= input.length) break;
    const quoteOrBackslash = StringPrototypeCharCodeAt(input, position);
    position++;
    if (quoteOrBackslash === 0x5c) {
      if (position >= input.length) {
        value += "\\";
        break;
      }
      value += input[position]!;
      position++;
    } else {
      break;
    }
  }
  return [extractValue ? value : StringPrototypeSlice(input, positionStart, position), position];
}

/** MIME Sniffing §4.4 "parse a MIME type"; null on failure. */
export function parseMimeType(input: string): MimeType | null {
  input = trimHTTPWhitespace(input, true);
  let position = 0;
  const n = input.length;
  let start = position;
  while (position < n && input[position] !== "/") position++;
  const type = StringPrototypeSlice(input, start, position);
  if (type === "" || !isToken(type)) return null;
  if (position >= n) return null;
  position++;
  start = position;
  while (position < n && input[position] !== ";") position++;
  const subtype = trimHTTPWhitespace(StringPrototypeSlice(input, start, position), false);
  if (subtype === "" || !isToken(subtype)) return null;
  const mimeType: MimeType = {
    type: StringPrototypeToLowerCase(type),
    subtype: StringPrototypeToLowerCase(subtype),
    parameters: new MapCtor(),
  };
  while (position < n) {
    position++; // skip ";"
    while (position < n && isHTTPWhitespace(StringPrototypeCharCodeAt(input, position))) position++;
    start = position;
    while (position < n && input[position] !== ";" && input[position] !== "=") position++;
    const parameterName = StringPrototypeToLowerCase(StringPrototypeSlice(input, start, position));
    if (position < n) {
      if (input[position] === ";") continue;
      position++; // skip "="
    }
    if (position >= n) break;
    let parameterValue: string;
    if (input[position] === '"') {
      [parameterValue, position] = collectHTTPQuotedString(input, position, true);
      while (position < n && input[position] !== ";") position++;
    } else {
      start = position;
      while (position < n && input[position] !== ";") position++;
      parameterValue = trimHTTPWhitespace(StringPrototypeSlice(input, start, position), false);
      if (parameterValue === "") continue;
    }
    if (parameterName !== "" && isToken(parameterName) && isQuotedStringTokenOnly(parameterValue) && !mimeType.parameters.has(parameterName)) {
      mimeType.parameters.set(parameterName, parameterValue);
    }
  }
  return mimeType;
}

function isQuotedStringTokenOnly(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isQuotedStringTokenCodePoint(StringPrototypeCharCodeAt(s, i))) return false;
  return true;
}

/** MIME Sniffing §4.5 "serialize a MIME type". */
export function serializeMimeType(mimeType: MimeType): string {
  let out = `${mimeType.type}/${mimeType.subtype}`;
  for (const [name, value] of mimeType.parameters) {
    out += `;${name}=`;
    if (value === "" || !isToken(value)) {
      let escaped = "";
      for (let i = 0; i < value.length; i++) {
        const ch = value[i]!;
        escaped += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
      }
      out += `"${escaped}"`;
    } else {
      out += value;
    }
  }
  return out;
}

/** Fetch §2.2.2 "get, decode, and split" a header value. */
export function getDecodeAndSplit(list: HeaderList, name: string): string[] | null {
  const input = list.get(name);
  if (input === null) return null;
  const values: string[] = [];
  let position = 0;
  let temporaryValue = "";
  for (;;) {
    const start = position;
    while (position < input.length && input[position] !== '"' && input[position] !== ",") position++;
    temporaryValue += StringPrototypeSlice(input, start, position);
    if (position < input.length && input[position] === '"') {
      let quoted: string;
      [quoted, position] = collectHTTPQuotedString(input, position, false);
      temporaryValue += quoted;
      if (position < input.length) continue;
    }
    // Strip HTTP tab or space only (not CR/LF) from both ends.
    let a = 0;
    let b = temporaryValue.length;
    while (a < b && (temporaryValue[a] === " " || temporaryValue[a] === "\t")) a++;
    while (b > a && (temporaryValue[b - 1] === " " || temporaryValue[b - 1] === "\t")) b--;
    ArrayPrototypePush(values, StringPrototypeSlice(temporaryValue, a, b));
    temporaryValue = "";
    if (position >= input.length) return values;
    position++; // skip ","
  }
}

/** Fetch §3.1.7 "extract a MIME type" from a header list; null on failure. */
export function extractMimeType(list: HeaderList): MimeType | null {
  let charset: string | null = null;
  let essence: string | null = null;
  let mimeType: MimeType | null = null;
  const values = getDecodeAndSplit(list, "content-type");
  if (values === null) return null;
  for (let i = 0; i < values.length; i++) {
    const temporaryMimeType = parseMimeType(values[i]!);
    if (temporaryMimeType === null || (temporaryMimeType.type === "*" && temporaryMimeType.subtype === "*")) continue;
    mimeType = temporaryMimeType;
    const thisEssence = `${mimeType.type}/${mimeType.subtype}`;
    if (thisEssence !== essence) {
      charset = mimeType.parameters.get("charset") ?? null;
      essence = thisEssence;
    } else if (!mimeType.parameters.has("charset") && charset !== null) {
      mimeType.parameters.set("charset", charset);
    }
  }
  return mimeType;
}
