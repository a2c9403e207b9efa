/**
 * Reading an admin API body: at most `limits.apiBodyMaxBytes` (inflated at most
 * `limits.apiBodyMaxInflatedBytes` when gzip-encoded), valid JSON, and nested at
 * most `limits.apiJsonMaxDepth` levels. The depth is checked on the text before parsing:
 * JSON.parse copes with deep input, but what walks the value afterwards (schema checks,
 * JSON.stringify of an async payload) recurses, and a few thousand levels overflow the
 * stack — a 500 with a stack trace per request, where the caller deserves a 400.
 */
import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { FlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";

/** The first position where arrays and objects nest deeper than `max`, or -1. Strings are skipped. */
export function tooDeepAt(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * Where the string opened at `open` closes (or the text's end): found with indexOf, so a
 * deploy body — mostly one long `code` string — is skipped at memchr speed.
 */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

const gunzipAsync = promisify(gunzip);

/**
 * A gzip-encoded body inflated, at most `limits.apiBodyMaxInflatedBytes` (zlib stops there:
 * a small body that inflates without end is refused, not held). On the thread pool: tens of
 * MiB inflated would stall the node's event loop for every other request meanwhile.
 */
async function inflate(body: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: limits.apiBodyMaxInflatedBytes });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new FlickError("payload_too_large", `the gzip-encoded request body inflates past the API limit of ${limits.apiBodyMaxInflatedBytes} bytes`);
    }
    throw new FlickError("bad_request", `the request body says content-encoding: gzip but is not valid gzip (${(err as Error).message}); send it compressed with gzip, or without the header`);
  }
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const encoding = String(req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new FlickError("bad_request", `content-encoding ${JSON.stringify(encoding)} is not accepted; send the body plain or with content-encoding: gzip`);
  }
  const raw = await readBytes(req, limits.apiBodyMaxBytes, "the API limit");
  const text = (encoding === "gzip" ? await inflate(raw) : raw).toString("utf8");
  if (text.trim() === "") return {};
  const at = tooDeepAt(text, limits.apiJsonMaxDepth);
  if (at >= 0) {
    throw new FlickError(
      "invalid_json",
      `the request body is too deeply nested: arrays and objects nest more than ${limits.apiJsonMaxDepth} levels (at character ${at}); flatten it`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FlickError("invalid_json", `the request body is not valid JSON (${(err as Error).message}); send a JSON object with content-type application/json`);
  }
}

/** A raw request body of at most `maxBytes` (`what` names the limit in the 413). */
export async function readBytes(req: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw new FlickError("payload_too_large", `request body of ${declared} bytes is over ${what} of ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new FlickError("payload_too_large", `request body is over ${what} of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
