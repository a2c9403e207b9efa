/**
 * The status and headers of a function's response, checked where they leave the isolate:
 * whatever the guest hands over, what reaches `res.writeHead` is something Node sends
 * without throwing, or the response becomes a `502 function_error` naming what was wrong.
 *
 * Fetch allows header bytes Node refuses (a value with %x01, copied from a query string,
 * is a valid Fetch header value), so both sets of rules apply: a token name (RFC 9110),
 * and a value of HTAB, SP–~ and obs-text only (what `http.validateHeaderValue` accepts).
 * Hop-by-hop headers, Content-Length (the host frames the body) and the platform's own
 * `x-flick-*` headers are not the function's to send: they are dropped, except
 * `x-flick-exit-code`, which a WASI program's runner reports (src/wasi/guest/serve-wasi.ts);
 * it says only what the function says of itself.
 */
import { notTheFunctions } from "../model/index.ts";
import { responseHeadLimits } from "../runtime/contract.ts";

const tokenChar = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const badValueChar = /[^\t\x20-\x7e\x80-\xff]/;
const maxHeaders = responseHeadLimits.headers;
const maxHeaderBytes = responseHeadLimits.chars;

export type Checked = { ok: true; status: number; headers: string[] } | { ok: false; message: string };

function describeByte(value: string, at: number): string {
  const code = value.charCodeAt(at);
  return code > 0xff ? `U+${code.toString(16).toUpperCase().padStart(4, "0")}` : `byte 0x${code.toString(16).padStart(2, "0")}`;
}

/**
 * The response head as it may be written: `headers` flattened (name, value, …) with the
 * dropped ones left out, or why it cannot be sent.
 */
export function checkResponseHead(fn: string, status: unknown, headers: unknown): Checked {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    return { ok: false, message: `${fn} returned a response with status ${String(status)}; a function's response status must be an integer from 200 to 599` };
  }
  if (!Array.isArray(headers) || headers.length % 2 !== 0 || headers.length > 2 * maxHeaders) {
    return { ok: false, message: `${fn} returned malformed response headers (at most ${maxHeaders} are sent)` };
  }
  const out: string[] = [];
  let bytes = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name: unknown = headers[i];
    const value: unknown = headers[i + 1];
    if (typeof name !== "string" || typeof value !== "string") return { ok: false, message: `${fn} returned a response header that is not a string` };
    if (!tokenChar.test(name)) {
      return { ok: false, message: `${fn} returned a response header named ${JSON.stringify(name.slice(0, 64))}, which is not a valid HTTP header name` };
    }
    const bad = badValueChar.exec(value);
    if (bad !== null) {
      return {
        ok: false,
        message: `${fn} returned the response header "${name}" with a value HTTP cannot carry (${describeByte(value, bad.index)} at offset ${bad.index}); percent-encode or strip control characters before putting them in a header`,
      };
    }
    bytes += name.length + value.length;
    if (bytes > maxHeaderBytes) return { ok: false, message: `${fn} returned more than ${maxHeaderBytes / 1024} KiB of response headers` };
    const lower = name.toLowerCase();
    if (notTheFunctions(lower)) continue;
    out.push(name, value);
  }
  return { ok: true, status, headers: out };
}
