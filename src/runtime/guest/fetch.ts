/**
 * Outbound `fetch()`: the request is built and checked here (Fetch's Request constructor),
 * its body read, and the rest happens in the host — egress policy, DNS, the connection,
 * redirects, per-invocation limits — through the `fetch` host op. The answer comes back
 * as a `fetched` event of a later entry, which settles the promise; a limit the host
 * enforces (subrequests, sizes) arrives the same way, as a rejection. A service binding's
 * fetch (src/bindings/service/guest.ts) builds its request and response with the same
 * helpers and goes through the binding channel instead.
 */
import { emit, ownBytes } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { addAbortAlgorithm, type AbortSignal } from "./web/abort.ts";
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

/** A request as fetch() sends it: checked by Fetch's Request constructor, its body read. */
export interface PreparedFetch {
  method: string;
  url: string;
  /** name, value, … from the request's own header list. */
  headers: string[];
  redirect: string;
  signal: AbortSignal;
  /** null when there is none: the request goes out in this same turn. */
  body: Promise<Uint8Array> | null;
}

/** `input` and `init` as fetch() reads them; throws as Request's constructor does, or the signal's reason. */
export function prepareFetch(input: unknown, init?: unknown): PreparedFetch {
  const request = new Request(input as never, init as never);
  const signal = request.signal;
  if (signal.aborted) throw signal.reason;
  const list = headerListOf(Reflect.apply(requestHeaders, request, []) as never);
  const headers: string[] = [];
  for (let i = 0; i < list.size; i++) headers.push(list.names[i]!, list.values[i]!);
  const body = request.body === null ? null : (Reflect.apply(requestArrayBuffer, request, []) as Promise<ArrayBuffer>).then((buffer) => new Uint8Array(buffer));
  return { method: request.method, url: request.url, headers, redirect: request.redirect, signal, body };
}

export function fetch(input: unknown, init?: unknown): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const invocation = currentInvocation();
    if (invocation === 0) throw new Error("fetch() cannot be called at module scope: outbound requests belong to a request. Call it inside fetch().");
    const prepared = prepareFetch(input, init);
    const { signal, method, url, headers, redirect } = prepared;
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
        emit(["fetch", invocation, op, method, url, headers, body, redirect]);
      } catch (err) {
        pending.delete(op);
        reject(err);
      }
    };
    if (prepared.body === null) start(null);
    else prepared.body.then(start, reject);
  });
}

/** A fetched Response from an answer in the host's shape (headers as name, value, …). */
export function fetchedResponse(status: number, statusText: string, headers: string[], body: Uint8Array<ArrayBuffer> | null, urlList: string[]): Response {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
  return createFetchedResponse(status, statusText, pairs, body === null ? null : ownBytes(body), urlList);
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
  p.resolve(fetchedResponse(status, statusText, headers, body, urlList));
}
