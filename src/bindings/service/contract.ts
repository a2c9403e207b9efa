/**
 * A service binding's call on the binding channel (runtime/guest/binding-channel.ts), shared
 * by its guest and host sides. `fetch` carries the request as strings — method, URL,
 * redirect mode, then the headers as name, value, … — and its body as the one buffer when
 * there is one; the answer is status, status text, the final URL and the headers as
 * strings, and the body as the one buffer when there is one.
 */
export const serviceContract = {
  kind: "service",
  fetch: "fetch",
} as const;

/** The request's strings, in order. */
export function encodeServiceRequest(method: string, url: string, redirect: string, headers: readonly string[]): string[] {
  return [method, url, redirect, ...headers];
}

/** The answer's strings, in order. */
export function encodeServiceResponse(status: number, statusText: string, url: string, headers: readonly string[]): string[] {
  return [String(status), statusText, url, ...headers];
}
