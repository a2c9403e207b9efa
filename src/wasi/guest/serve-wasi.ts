/**
 * A WASI preview 1 program as a Flick function, called the WAGI/CGI way: each request runs
 * the program once, from `_start`, in a fresh instance of its module.
 *   - In: the request as CGI variables in the environment (RFC 3875: REQUEST_METHOD,
 *     PATH_INFO, QUERY_STRING, HTTP_*, …) after the function's `--env` and `--secret`
 *     values; the body on stdin;
 *     the deploy's `--arg`s after the program's name.
 *   - Out: stdout is the response. A CGI header block (`Content-Type:`, `Status: 404 Not
 *     Found`, `Location:`, any header, then a blank line) sets status and headers;
 *     stdout without one is a `200 text/plain` body. stderr goes to the logs, line by line.
 *   - Exit: `_start` returning, or `proc_exit(0)`, answers; a non-zero exit or a trap is a
 *     `502 function_error` with what stdout and stderr said. The exit code (or `trap`) is
 *     handed to the platform, which sends it as `x-flick-exit-code` on every response.
 * The module runs inside the function's isolate: its memory, CPU and time limits are the
 * function's.
 *
 * This file is bundled into the function at deploy (src/wasi/entry.ts); it sees only what
 * a function sees.
 */
import { Overlay, shippedTree, type DirNode, type ShippedDirs } from "./memory-fs.ts";
import { completeImports, importedCalls, Preview1, ProgramExit } from "./preview1.ts";
import { KeptMemory, type ImportedMemoryType } from "./kept-memory.ts";
import { LineLog } from "./line-log.ts";
import { wasm, type WasmMemory, type WasmModule } from "./wasm-api.ts";

export interface WasiConfig {
  /** argv[0]: the program's file name. */
  program: string;
  args: string[];
  dirs: ShippedDirs;
  /** When the deploy was made (ns since the epoch): the shipped files' times. */
  shippedNs: string;
  /** Where the module imports its memory (src/wasi/import-memory.ts); null: it defines its own, made new by every run. */
  memory: ImportedMemoryType | null;
}

/** A program's kept memory is reused while it is at most this large (kept-memory.ts). */
const keepMemoryBytes = 16 * 2 ** 20;

/** The program's exit code (or `trap`) on every response: the one `x-flick-*` header a function may send (host/response-guard.ts). */
export const exitCodeHeader = "x-flick-exit-code";

/** The shipped directories as the bundle carries them (base64), back to bytes: once per instance. */
export function decodeShipped(dirs: Record<string, Record<string, string>>): ShippedDirs {
  const out: ShippedDirs = {};
  for (const [dir, files] of Object.entries(dirs)) {
    out[dir] = {};
    for (const [name, b64] of Object.entries(files)) {
      const text = atob(b64);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      out[dir][name] = bytes;
    }
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** stdout's CGI header block, if it starts with one: [headers, where the body begins]. */
export function cgiHead(out: Uint8Array): { headers: [string, string][]; bodyAt: number } | undefined {
  // A head is short; look at most 64 KiB in.
  const text = decoder.decode(out.subarray(0, 65536));
  const end = /\r?\n\r?\n/.exec(text);
  if (end === null) return undefined;
  const lines = text.slice(0, end.index).split(/\r?\n/);
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0 || !headerName.test(line.slice(0, colon))) return undefined;
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { headers, bodyAt: encoder.encode(text.slice(0, end.index + end[0].length)).length };
}

/** The CGI/1.1 meta-variables for a request (the function sees the URL after `/fn/<name>`). */
export function cgiEnv(request: Request, bodyLength: number): string[] {
  const url = new URL(request.url);
  const env: string[] = [
    "GATEWAY_INTERFACE=CGI/1.1",
    "SERVER_SOFTWARE=Flick",
    "SERVER_PROTOCOL=HTTP/1.1",
    `REQUEST_METHOD=${request.method}`,
    "SCRIPT_NAME=",
    `PATH_INFO=${decodeURIComponentSafe(url.pathname)}`,
    `QUERY_STRING=${url.search.slice(1)}`,
    `SERVER_NAME=${url.hostname}`,
    `SERVER_PORT=${url.port || (url.protocol === "https:" ? "443" : "80")}`,
    `X_FULL_URL=${url.href}`,
  ];
  if (bodyLength > 0 || request.headers.has("content-length")) env.push(`CONTENT_LENGTH=${bodyLength}`);
  const type = request.headers.get("content-type");
  if (type !== null) env.push(`CONTENT_TYPE=${type}`);
  for (const [name, value] of request.headers) {
    if (name === "content-type" || name === "content-length") continue;
    env.push(`HTTP_${name.toUpperCase().replace(/-/g, "_")}=${value}`);
  }
  return env;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function joined(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function errorResponse(message: string, exit: string, more: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code: "function_error", message, ...more } }), {
    status: 502,
    headers: { "content-type": "application/json", [exitCodeHeader]: exit },
  });
}

export function serveWasi(module: WasmModule, config: WasiConfig): { fetch(request: Request, env?: Record<string, unknown>): Promise<Response> } {
  const shippedNs = BigInt(config.shippedNs);
  let shipped: DirNode | undefined;
  const calls = importedCalls(module);
  const preopens = Object.keys(config.dirs).map((d) => `/${d.replace(/^\/+|\/+$/g, "")}`);
  const kept = config.memory === null ? undefined : new KeptMemory(config.memory, keepMemoryBytes);
  return {
    async fetch(request, env) {
      const body = new Uint8Array(await request.arrayBuffer());
      // The function's --env and --secret values are the program's environment too (bindings are not strings: left out).
      const vars = Object.entries(env ?? {}).flatMap(([k, v]) => (typeof v === "string" ? [`${k}=${v}`] : []));
      shipped ??= shippedTree(config.dirs, shippedNs);
      const out: Uint8Array[] = [];
      let outLength = 0;
      const errLog = new LineLog(console.error);
      let stderrTail = "";
      const started = performance.now();
      const wasi = new Preview1({
        args: [config.program, ...config.args],
        env: [...vars, ...cgiEnv(request, body.length)],
        stdin: body,
        stdout: (bytes) => {
          out.push(bytes.slice());
          outLength += bytes.length;
        },
        stderr: (bytes) => {
          stderrTail = (stderrTail + decoder.decode(bytes)).slice(-2048);
          errLog.write(bytes);
        },
        preopens,
        files: new Overlay(shipped),
        realtimeNs: () => BigInt(Date.now()) * 1_000_000n,
        monotonicNs: () => BigInt(Math.round((performance.now() - started) * 1e6)),
        random: (into) => void crypto.getRandomValues(into),
      });
      let exit = 0;
      let trap: string | undefined;
      let lent: WasmMemory | undefined;
      try {
        lent = kept?.take();
        const instance = new wasm.Instance(module, { ...(lent === undefined ? {} : kept!.imports(lent)), wasi_snapshot_preview1: completeImports(calls, wasi.imports()) });
        const memory = instance.exports["memory"];
        if (!(memory instanceof wasm.Memory)) return errorResponse("the program exports no memory named \"memory\"; build it for wasm32-wasi (WASI preview 1)", "none");
        wasi.bind(memory);
        const start = instance.exports["_start"];
        if (typeof start !== "function") return errorResponse("the program has no _start export; build it as a WASI command (a main function), not a library", "none");
        start();
      } catch (err) {
        if (err instanceof ProgramExit) exit = err.code;
        else if (err instanceof wasm.LinkError) return errorResponse(`the program imports what Flick does not provide: ${err.message}; only wasi_snapshot_preview1 is offered`, "none");
        else if (err instanceof wasm.RuntimeError) trap = err.message;
        else throw err;
      } finally {
        if (lent !== undefined) kept!.give(lent);
      }
      errLog.end();
      const stdout = joined(out, outLength);
      if (trap !== undefined) return errorResponse(`the program trapped: ${trap}`, "trap", { stderr: stderrTail });
      if (exit !== 0) return errorResponse(`the program exited with code ${exit}`, String(exit), { stdout: decoder.decode(stdout.subarray(0, 2048)), stderr: stderrTail });
      const head = cgiHead(stdout);
      if (head === undefined) return new Response(stdout, { status: 200, headers: { "content-type": "text/plain; charset=utf-8", [exitCodeHeader]: "0" } });
      const headers = new Headers();
      let status = 200;
      for (const [name, value] of head.headers) {
        if (name.toLowerCase() === "status") {
          const code = Number.parseInt(value, 10);
          if (Number.isInteger(code) && code >= 200 && code <= 599) status = code;
          else return errorResponse(`the program's CGI Status header is ${JSON.stringify(value)}; give a code from 200 to 599, e.g. "Status: 404 Not Found"`, "0");
        } else headers.append(name, value);
      }
      if (!head.headers.some(([n]) => n.toLowerCase() === "status") && headers.has("location")) status = 302;
      if (!headers.has("content-type")) headers.set("content-type", "text/plain; charset=utf-8");
      headers.set(exitCodeHeader, "0");
      return new Response(stdout.subarray(head.bodyAt), { status, headers });
    },
  };
}
