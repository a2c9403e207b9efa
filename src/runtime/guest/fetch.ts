/**
 * Outbound `fetch()`: the request is built and checked here (Fetch's Request constructor),
 * its body read, and the rest happens in the host — egress policy, DNS, the connection,
 * redirects, per-invocation limits — through the `fetch` host op. The answer comes back
 * as a `fetched` event of a later entry, which settles the promise; a limit the host
 * enforces (subrequests, sizes) arrives the same way, as a rejection.
 */
import { emit, ownBytes } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { addAbortAlgorithm } from "./web/abort.ts";
import { newDOMException } from "./web/dom-exception.ts";
import { headerListOf } from "./web/headers.ts";
import { Request } from "./web/request.ts";
import { createFetchedResponse, type Response } from "./web/response.ts";

interface Pending {
  /** The invocation that made the request: its continuation runs as it. */
  invocation: number;
  resolve(response: Response): void;
  reject(error: unknown): void;
  url: string;
}

const pending = new Map<number, Pending>();
let nextOp = 1;
const requestArrayBuffer = Request.prototype.arrayBuffer;
// Captured: the headers go out from the internal list, never through an iterator or
// getter user code may have replaced.
const requestHeaders = Object.getOwnPropertyDescriptor(Request.prototype, "headers")!.get!;

export function fetch(input: unknown, init?: unknown): Promise<Response> {
  return fetchThrough("", input, init);
}

/**
 * A fetch through service binding `binding` (env.API.fetch): the host hands the request to
 * the bound function's instance instead of the network; "" is the network.
 */
export function fetchThrough(binding: string, input: unknown, init?: unknown): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const invocation = currentInvocation();
    if (invocation === 0) {
      throw new Error(`${binding === "" ? "fetch()" : `env.${binding}.fetch()`} cannot be called at module scope: outbound requests belong to a request. Call it inside fetch().`);
    }
    const request = new Request(input as never, init as never);
    const signal = request.signal;
    if (signal.aborted) throw signal.reason;
    const list = headerListOf(Reflect.apply(requestHeaders, request, []) as never);
    const flat: string[] = [];
    for (let i = 0; i < list.size; i++) flat.push(list.names[i]!, list.values[i]!);
    const method = request.method;
    const url = request.url;
    const redirect = request.redirect;
    const start = (body: Uint8Array | null) => {
      if (signal.aborted) return reject(signal.reason);
      const op = nextOp++;
      pending.set(op, { invocation, resolve, reject, url });
      addAbortAlgorithm(signal, () => {
        if (pending.delete(op)) {
          emit(["fetchAbort", op]);
          reject(signal.reason);
        }
      });
      try {
        emit(["fetch", invocation, op, method, url, flat, body, redirect, binding]);
      } catch (err) {
        pending.delete(op);
        reject(err);
      }
    };
    if (request.body === null) start(null);
    else {
      (Reflect.apply(requestArrayBuffer, request, []) as Promise<ArrayBuffer>).then(
        (buffer) => start(new Uint8Array(buffer)),
        reject,
      );
    }
  });
}

/** The host's answer to op: a response, or an error (name and message) to reject with. */
export function fetched(
  op: number,
  status: number,
  statusText: string,
  headers: string[],
  body: Uint8Array<ArrayBuffer> | null,
  urlList: string[],
  errorName: string,
  errorMessage: string,
): void {
  const p = pending.get(op);
  if (p === undefined) return;
  pending.delete(op);
  enterInvocation(p.invocation);
  if (errorName !== "") {
    p.reject(errorName === "TimeoutError" || errorName === "AbortError" ? newDOMException(errorMessage, errorName) : new TypeError(errorMessage));
    return;
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
  p.resolve(createFetchedResponse(status, statusText, pairs, body === null ? null : ownBytes(body), urlList));
}
