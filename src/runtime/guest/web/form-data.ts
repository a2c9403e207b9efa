/**
 * FormData (XMLHttpRequest §4.3), its multipart/form-data serialization (HTML §4.10.21.8)
 * for request and response bodies, and the two parsers Body's formData() uses:
 * multipart/form-data (RFC 7578) and application/x-www-form-urlencoded (URL §5.1).
 */
import { blobBytes, isBlob } from "./blob.ts";
import { createFile, isFile, type File } from "./file.ts";
import { constructContext, defineInterface, illegalInvocation, methodContext, requireArgs, toUSVString } from "./idl.ts";
import {
  ArrayPrototypePush,
  DateNow,
  IteratorPrototype,
  MathFloor,
  ObjectDefineProperty,
  ObjectSetPrototypeOf,
  ReflectApply,
  StringPrototypeCharCodeAt,
  StringPrototypeToLowerCase,
  SymbolIterator,
  SymbolToStringTag,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSlice,
} from "./intrinsics.ts";
import { concatBytes } from "./body-stream.ts";
import { utf8Decode, utf8Encode } from "./utf8.ts";
import { parseFormURLEncodedBytes } from "./form-urlencoded.ts";
import type { Blob } from "./blob.ts";

export type FormDataEntryValue = File | string;

interface Entry {
  name: string;
  value: FormDataEntryValue;
}

let getEntries!: (fd: FormData) => Entry[];
let hasSlots!: (v: object) => boolean;

export function isFormData(value: unknown): value is FormData {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** XHR "create an entry": Blobs become Files named "blob", and a given filename renames a File. */
function createEntry(name: string, value: string | Blob, filename: string | undefined): Entry {
  if (typeof value === "string") return { name, value };
  let file: File;
  if (!isFile(value)) {
    file = createFile(blobBytes(value), value.type, filename ?? "blob", DateNow());
  } else if (filename !== undefined) {
    file = createFile(blobBytes(value), value.type, filename, value.lastModified);
  } else {
    file = value;
  }
  return { name, value: file };
}

/** Convert append()/set() arguments per their WebIDL overloads. */
function convertEntryArgs(argCount: number, name: unknown, value: unknown, filename: unknown, context: string): Entry {
  requireArgs(argCount, 2, context);
  const n = toUSVString(name);
  if (argCount >= 3 || isBlob(value)) {
    if (!isBlob(value)) throw new TypeError(`${context}: parameter 2 is not of type 'Blob'.`);
    const f = argCount >= 3 && filename !== undefined ? toUSVString(filename) : undefined;
    return createEntry(n, value, f);
  }
  return createEntry(n, toUSVString(value), undefined);
}

export class FormData {
  #entries: Entry[] = [];

  static {
    getEntries = (fd) => fd.#entries;
    hasSlots = (v) => #entries in v;
  }

  constructor(form: unknown = undefined, submitter: unknown = null) {
    // There are no HTML form elements in a server runtime, so any form argument is of the wrong type.
    if (form !== undefined) throw new TypeError(`${constructContext("FormData")}: parameter 1 is not of type 'HTMLFormElement'.`);
    void submitter;
  }

  append(name: string, value: string | Blob, filename: string | undefined = undefined): void {
    if (!isFormData(this)) throw illegalInvocation();
    ArrayPrototypePush(this.#entries, convertEntryArgs(arguments.length, name, value, filename, methodContext("FormData", "append")));
  }

  delete(name: string): void {
    if (!isFormData(this)) throw illegalInvocation();
    requireArgs(arguments.length, 1, methodContext("FormData", "delete"));
    const n = toUSVString(name);
    const kept: Entry[] = [];
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]!.name !== n) ArrayPrototypePush(kept, entries[i]!);
    this.#entries = kept;
  }

  get(name: string): FormDataEntryValue | null {
    if (!isFormData(this)) throw illegalInvocation();
    requireArgs(arguments.length, 1, methodContext("FormData", "get"));
    const n = toUSVString(name);
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]!.name === n) return entries[i]!.value;
    return null;
  }

  getAll(name: string): FormDataEntryValue[] {
    if (!isFormData(this)) throw illegalInvocation();
    requireArgs(arguments.length, 1, methodContext("FormData", "getAll"));
    const n = toUSVString(name);
    const out: FormDataEntryValue[] = [];
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]!.name === n) ArrayPrototypePush(out, entries[i]!.value);
    return out;
  }

  has(name: string): boolean {
    if (!isFormData(this)) throw illegalInvocation();
    requireArgs(arguments.length, 1, methodContext("FormData", "has"));
    const n = toUSVString(name);
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]!.name === n) return true;
    return false;
  }

  set(name: string, value: string | Blob, filename: string | undefined = undefined): void {
    if (!isFormData(this)) throw illegalInvocation();
    const entry = convertEntryArgs(arguments.length, name, value, filename, methodContext("FormData", "set"));
    // Replace the first entry with this name, drop the others; append when there is none.
    const entries = this.#entries;
    const out: Entry[] = [];
    let replaced = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.name !== entry.name) ArrayPrototypePush(out, e);
      else if (!replaced) {
        ArrayPrototypePush(out, entry);
        replaced = true;
      }
    }
    if (!replaced) ArrayPrototypePush(out, entry);
    this.#entries = out;
  }

  forEach(callback: (value: FormDataEntryValue, key: string, parent: FormData) => void, thisArg: unknown = undefined): void {
    if (!isFormData(this)) throw illegalInvocation();
    const context = methodContext("FormData", "forEach");
    requireArgs(arguments.length, 1, context);
    if (typeof callback !== "function") throw new TypeError(`${context}: The callback provided as parameter 1 is not a function.`);
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      ReflectApply(callback, thisArg, [e.value, e.name, this]);
    }
  }

  entries(): IterableIterator<[string, FormDataEntryValue]> {
    if (!isFormData(this)) throw illegalInvocation();
    return new FormDataIterator(this, "key+value") as unknown as IterableIterator<[string, FormDataEntryValue]>;
  }

  keys(): IterableIterator<string> {
    if (!isFormData(this)) throw illegalInvocation();
    return new FormDataIterator(this, "key") as unknown as IterableIterator<string>;
  }

  values(): IterableIterator<FormDataEntryValue> {
    if (!isFormData(this)) throw illegalInvocation();
    return new FormDataIterator(this, "value") as unknown as IterableIterator<FormDataEntryValue>;
  }

  declare [Symbol.iterator]: () => IterableIterator<[string, FormDataEntryValue]>;
}
defineInterface(FormData, "FormData");
ObjectDefineProperty(FormData.prototype, SymbolIterator, { value: FormData.prototype.entries, writable: true, enumerable: false, configurable: true });

/** "FormData Iterator": a WebIDL default iterator, live over the entry list. */
class FormDataIterator {
  #target: FormData;
  #kind: "key" | "value" | "key+value";
  #index = 0;

  constructor(target: FormData, kind: "key" | "value" | "key+value") {
    this.#target = target;
    this.#kind = kind;
  }

  next(): IteratorResult<unknown, undefined> {
    if (typeof this !== "object" || this === null || !(#target in this)) {
      throw new TypeError(`${methodContext("FormData Iterator", "next")}: Illegal invocation`);
    }
    const entries = getEntries(this.#target);
    const index = this.#index;
    if (index >= entries.length) return { value: undefined, done: true };
    this.#index = index + 1;
    const e = entries[index]!;
    const kind = this.#kind;
    return { value: kind === "key" ? e.name : kind === "value" ? e.value : [e.name, e.value], done: false };
  }
}
ObjectSetPrototypeOf(FormDataIterator.prototype, IteratorPrototype);
delete (FormDataIterator.prototype as { constructor?: unknown }).constructor;
ObjectDefineProperty(FormDataIterator.prototype, "next", { enumerable: true });
ObjectDefineProperty(FormDataIterator.prototype, SymbolToStringTag, { value: "FormData Iterator", configurable: true });

// --- serialization ---------------------------------------------------------------------------

/** A FormData created from parsed entries (formData() results). */
function formDataFromEntries(entries: Entry[]): FormData {
  const fd = new FormData();
  const list = getEntries(fd);
  for (let i = 0; i < entries.length; i++) ArrayPrototypePush(list, entries[i]!);
  return fd;
}

/** Replace lone CR and lone LF with CRLF. */
function normalizeNewlines(s: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c === 0x0d) {
      if (StringPrototypeCharCodeAt(s, i + 1) === 0x0a) {
        i++;
        continue;
      }
      out += s.slice(start, i) + "\r\n";
      start = i + 1;
    } else if (c === 0x0a) {
      out += s.slice(start, i) + "\r\n";
      start = i + 1;
    }
  }
  return start === 0 ? s : out + s.slice(start);
}

/** HTML's escaping of names and filenames in Content-Disposition: LF, CR and `"` percent-encoded. */
function escapeMultipartName(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    out += ch === "\n" ? "%0A" : ch === "\r" ? "%0D" : ch === '"' ? "%22" : ch;
  }
  return out;
}

/** A boundary like browsers use; uniqueness, not secrecy, is what matters here. */
function makeBoundary(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "----formdata-flick-";
  for (let i = 0; i < 24; i++) s += alphabet[MathFloor(mathRandom() * alphabet.length)]!;
  return s;
}
const mathRandom = Math.random;

/** HTML "multipart/form-data encoding algorithm": the body bytes and the boundary used. */
export function serializeMultipart(formData: FormData): { bytes: Uint8Array<ArrayBuffer>; boundary: string } {
  const boundary = makeBoundary();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    ArrayPrototypePush(chunks, b);
    total += b.length;
  };
  const entries = getEntries(formData);
  for (let i = 0; i < entries.length; i++) {
    const { name, value } = entries[i]!;
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeMultipartName(normalizeNewlines(name))}"`;
    if (typeof value === "string") {
      push(utf8Encode(`${head}\r\n\r\n${normalizeNewlines(value)}\r\n`));
    } else {
      head += `; filename="${escapeMultipartName(value.name)}"\r\nContent-Type: ${value.type === "" ? "application/octet-stream" : value.type}\r\n\r\n`;
      push(utf8Encode(head));
      push(blobBytes(value));
      push(utf8Encode("\r\n"));
    }
  }
  push(utf8Encode(`--${boundary}--\r\n`));
  return { bytes: concatBytes(chunks, total), boundary };
}

// --- parsing ---------------------------------------------------------------------------------

/** Body's formData() for application/x-www-form-urlencoded. */
export function formDataFromUrlencoded(bytes: Uint8Array): FormData {
  const pairs = parseFormURLEncodedBytes(bytes);
  const entries: Entry[] = [];
  for (let i = 0; i < pairs.length; i++) ArrayPrototypePush(entries, { name: pairs[i]![0], value: pairs[i]![1] });
  return formDataFromEntries(entries);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const n = haystack.length;
  const m = needle.length;
  const first = needle[0];
  outer: for (let i = from; i + m <= n; i++) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < m; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Decode the %22, %0D and %0A escapes browsers put in multipart names and filenames. */
function unescapeMultipartName(s: string): string {
  return s.replace(/%(22|0D|0A)/gi, (m) => {
    const code = m.toUpperCase();
    return code === "%22" ? '"' : code === "%0D" ? "\r" : "\n";
  });
}

/** Read a parameter (`name="..."` or `name=token`) from a Content-Disposition value. */
function dispositionParam(value: string, param: string): string | null {
  const re = new RegExp(`;\\s*${param}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i");
  const m = re.exec(value);
  if (m === null) return null;
  if (m[1] !== undefined) return m[1].replace(/\\(.)/g, "$1");
  return m[2] ?? "";
}

/**
 * Body's formData() for multipart/form-data (RFC 7578): null when the body cannot be parsed,
 * which the caller turns into a TypeError.
 */
export function formDataFromMultipart(bytes: Uint8Array, boundary: string): FormData | null {
  const delimiter = utf8Encode(`--${boundary}`);
  const entries: Entry[] = [];
  let pos = indexOfBytes(bytes, delimiter, 0);
  if (pos < 0) return null;
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter ends the body.
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) break;
    // Skip transport padding, then the CRLF ending the delimiter line.
    while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos++;
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) return null;
    pos += 2;
    // Part headers, up to an empty line.
    let name: string | null = null;
    let filename: string | null = null;
    let contentType: string | null = null;
    for (;;) {
      const lineEnd = indexOfBytes(bytes, CRLF, pos);
      if (lineEnd < 0) return null;
      if (lineEnd === pos) {
        pos += 2;
        break;
      }
      const line = latin1(bytes, pos, lineEnd);
      pos = lineEnd + 2;
      const colon = line.indexOf(":");
      if (colon <= 0) return null;
      const headerName = StringPrototypeToLowerCase(line.slice(0, colon).trim());
      const headerValue = line.slice(colon + 1).trim();
      if (headerName === "content-disposition") {
        if (!/^form-data\s*(;|$)/i.test(headerValue)) return null;
        name = dispositionParam(headerValue, "name");
        filename = dispositionParam(headerValue, "filename");
      } else if (headerName === "content-type") {
        contentType = headerValue;
      }
    }
    if (name === null) return null;
    const bodyEnd = indexOfBytes(bytes, CRLF_DELIMITER(delimiter), pos);
    if (bodyEnd < 0) return null;
    const content = Uint8ArrayPrototypeSlice(bytes, pos, bodyEnd);
    const entryName = unescapeMultipartName(utf8Decode(latin1Bytes(name), false));
    if (filename !== null) {
      const fileName = unescapeMultipartName(utf8Decode(latin1Bytes(filename), false));
      let type = contentType ?? "text/plain";
      for (let i = 0; i < type.length; i++) if (StringPrototypeCharCodeAt(type, i) > 0x7f) type = "";
      ArrayPrototypePush(entries, { name: entryName, value: createFile(content, StringPrototypeToLowerCase(type), fileName, DateNow()) });
    } else {
      ArrayPrototypePush(entries, { name: entryName, value: utf8Decode(content, false) });
    }
    pos = bodyEnd + 2;
  }
  return formDataFromEntries(entries);
}

const CRLF = new Uint8ArrayCtor([0x0d, 0x0a]);

function CRLF_DELIMITER(delimiter: Uint8Array): Uint8Array {
  const out = new Uint8ArrayCtor(delimiter.length + 2);
  out[0] = 0x0d;
  out[1] = 0x0a;
  out.set(delimiter, 2);
  return out;
}

/** The bytes of a string whose code units are all ≤ 0xFF (headers were read as latin1). */
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8ArrayCtor(s.length);
  for (let i = 0; i < s.length; i++) out[i] = StringPrototypeCharCodeAt(s, i) & 0xff;
  return out;
}
