// The admin API as the page uses it: the same routes as the CLI (docs/api.md), with the
// token the person signed in with. The token lives in sessionStorage: it goes when the tab
// closes, and no other site can read it.

const tokenKey = "flick.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(tokenKey);
  },
  set token(value) {
    if (value === null) sessionStorage.removeItem(tokenKey);
    else sessionStorage.setItem(tokenKey, value);
  },
};

/** Told when the node refuses the token (401): the page signs out. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/** `GET /api/v1<path>` (or another method, with a JSON body); the parsed answer, or an ApiError with the node's message. */
export async function api(path, { method = "GET", body, signal, token = session.token } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store" });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, "unavailable", "The node cannot be reached. Is `flick up` still running? Reload the page to try again.");
  }
  const text = await res.text();
  let data;
  try {
    data = text === "" ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, "bad_response", `The node answered ${res.status} with something that is not JSON.`);
  }
  if (!res.ok) {
    if (res.status === 401 && token === session.token) onUnauthorized();
    throw new ApiError(res.status, data?.error?.code ?? "error", data?.error?.message ?? `The node answered ${res.status}.`);
  }
  return data;
}

export const fnPath = (name) => `/functions/${encodeURIComponent(name)}`;
