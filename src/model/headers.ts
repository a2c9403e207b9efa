/**
 * Which HTTP headers belong to whom, shared by the gateway and the worker host (each
 * checks where a response passes it).
 */

/** Connection-level headers belong to each hop, not to the function (RFC 9110 §7.6.1). */
export const hopByHop: ReadonlySet<string> = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** Headers only the platform sets (on requests to functions and on their responses). */
export const reservedHeaderPrefix = "x-flick-";

/** The one `x-flick-*` header a function's response may carry: a WASI program's exit code, its report of itself. */
const functionReported = "x-flick-exit-code";

/** Whether a response header (lowercase) is one a function may not send: hop-by-hop, Content-Length, the platform's own. */
export function notTheFunctions(lower: string): boolean {
  return hopByHop.has(lower) || lower === "content-length" || (lower.startsWith(reservedHeaderPrefix) && lower !== functionReported);
}
