/**
 * `env.API` of a service binding, inside the isolate: `fetch(input, init)` sends the request
 * to the bound function's instance through the host, never the network, and resolves with
 * its Response. Built and answered as an outbound fetch() is (runtime/guest/fetch.ts); an
 * abort rejects at once and the answer, when it comes, is dropped.
 */
import { callBinding, forgetBindingCall } from "../../runtime/guest/binding-channel.ts";
import { fetchedResponse, prepareFetch } from "../../runtime/guest/fetch.ts";
import { currentInvocation } from "../../runtime/guest/invocation-scope.ts";
import { addAbortAlgorithm } from "../../runtime/guest/web/abort.ts";
import type { Response } from "../../runtime/guest/web/response.ts";
import { encodeServiceRequest, serviceContract } from "./contract.ts";

/**
 * A request sent through binding `binding` of `kind` instead of the network (a service
 * call, a durable object stub's fetch): built and answered as fetch() builds and answers
 * one; `leading` strings go before the request's. `what` names the call in errors.
 */
export function fetchThroughBinding(kind: string, binding: string, leading: string[], input: unknown, init: unknown, what: string): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (currentInvocation() === 0) {
      throw new Error(`${what}() cannot be called at module scope: outbound requests belong to a request. Call it inside fetch().`);
    }
    const prepared = prepareFetch(input, init);
    const { signal } = prepared;
    const start = (body: Uint8Array | null) => {
      if (signal.aborted) return reject(signal.reason);
      let op = 0;
      const strings = [...leading, ...encodeServiceRequest(prepared.method, prepared.url, prepared.redirect, prepared.headers)];
      callBinding(kind, binding, serviceContract.fetch, strings, body === null ? [] : [body], (o) => (op = o)).then(
        ({ strings: s, buffers }) => resolve(fetchedResponse(Number(s[0]), s[1] ?? "", s.slice(3), (buffers[0] as Uint8Array<ArrayBuffer> | undefined) ?? null, [s[2] ?? prepared.url])),
        reject,
      );
      addAbortAlgorithm(signal, () => {
        if (forgetBindingCall(op)) reject(signal.reason);
      });
    };
    if (prepared.body === null) start(null);
    else prepared.body.then(start, reject);
  });
}

export function serviceBinding(name: string): object {
  return Object.freeze({
    fetch: (input: unknown, init?: unknown) => fetchThroughBinding(serviceContract.kind, name, [], input, init, `env.${name}.fetch`),
  });
}
