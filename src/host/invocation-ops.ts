/**
 * The I/O a running invocation asks its host for — outbound fetch, service and queue
 * binding calls, zlib, crypto.subtle — each checked against the invocation's limits here,
 * in the host, whatever the guest checked. Answers go back as events of a later entry
 * (`post`), and only while the invocation runs: when it ends, its fetches are aborted, its
 * zlib streams freed, and work still waiting for a thread-pool slot is dropped unstarted.
 */
import type { BindingAnswer, BindingCallContext } from "../bindings/index.ts";
import { hostBindings } from "../bindings/host.ts";
import { limits } from "../model/index.ts";
import { formatTraceparent, newSpanId, newTraceId, redactedUrl, traceParentOf, withTraceHeaders, type InvocationTrace, type SpanKindName } from "../telemetry/index.ts";
import type { GuestEvent } from "../runtime/contract.ts";
import { compressionLimits, ZlibStream } from "./compression-ops.ts";
import type { EgressPolicy } from "./egress-policy.ts";
import type { FairJobs } from "./fair-jobs.ts";
import { OutboundError, outboundFetch, type OutboundRequest } from "./outbound-fetch.ts";
import type { BindingSpec, Call, CallResult } from "./protocol.ts";
import { runSubtle, SubtleError } from "./web-crypto-ops.ts";

/** Per-invocation limits on outbound requests (docs/limits.md). */
export const fetchLimits = {
  /** fetch() and binding calls (env.X.fetch, env.Q.send) together. */
  subrequests: 50,
  connections: 6,
  maxResponseBytes: 32 * 1024 * 1024,
  maxUrlLength: 16 * 1024,
  maxHeaderEntries: 512,
} as const;


/** What the I/O of one invocation needs from its instance. */
export interface IoContext {
  /** `<tenant>/<function>`. */
  function: string;
  tenant: string;
  deadline: () => number;
  invocationId: string;
  depth: number;
  /** The queue hops of the event it runs; undefined for a request to /fn. */
  hops: number | undefined;
  egress: EgressPolicy;
  jobs: FairJobs;
  bindings: readonly BindingSpec[];
  calls: ((call: Call) => Promise<CallResult>) | undefined;
  /** Hands an answer to the guest (dropped once the invocation ended). */
  post(event: GuestEvent): void;
  log(level: "info" | "warn", message: string): void;
  /** An outbound fetch (not a binding) ended: allowed (bytes sent and received), denied by the egress policy, or failed. */
  egressed(result: "allowed" | "denied" | "failed", bytes: number): void;
  /** The request's headers (name, value, …): its W3C `traceparent` / `tracestate`, if a caller sent them. */
  requestHeaders: readonly string[];
  /** The invocation's spans, when it is sampled: each operation below adds its own. */
  trace: InvocationTrace | undefined;
  /** False once the invocation ended. */
  live(): boolean;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The I/O state of one invocation. */
export class InvocationIo {
  private readonly ctx: IoContext;
  private subrequests = 0;
  private activeFetches = 0;
  private readonly queuedFetches: (() => void)[] = [];
  private readonly fetchOps = new Map<number, AbortController>();
  private zlib: Map<number, ZlibStream> | undefined;

  /** An unsampled invocation's W3C trace context: its caller's, or one made for it; made on first use. */
  private unsampled: { traceId: string; state: string | undefined } | undefined;

  constructor(ctx: IoContext) {
    this.ctx = ctx;
  }

  /**
   * The `traceparent` / `tracestate` an outbound call carries: `spanId` (the call's own
   * span) in a sampled trace; else the caller's trace, or a new one, with a fresh span id
   * and flags 00, so downstream systems still see one trace id.
   */
  private outboundTrace(spanId: string | undefined): { parent: string; state: string | undefined } {
    const trace = this.ctx.trace;
    if (trace !== undefined && spanId !== undefined) return { parent: trace.traceparent(spanId), state: trace.state };
    if (this.unsampled === undefined) {
      const caller = traceParentOf(this.ctx.requestHeaders);
      this.unsampled = caller === undefined ? { traceId: newTraceId(), state: undefined } : { traceId: caller.traceId, state: caller.state };
    }
    return { parent: formatTraceparent(this.unsampled.traceId, newSpanId(), false), state: this.unsampled.state };
  }

  /** `headers` with the call's trace context, unless the function set a `traceparent` itself. */
  private withTrace(headers: string[], spanId: string | undefined): string[] {
    const t = this.outboundTrace(spanId);
    return withTraceHeaders(headers, t.parent, t.state);
  }

  /** Records a host operation's span under the execution span (sampled invocations only). */
  private span(spanId: string | undefined, name: string, kind: SpanKindName, startMs: number, attributes: Record<string, string | number | boolean>, error?: string): void {
    if (spanId === undefined || this.ctx.trace === undefined) return;
    this.ctx.trace.add(name, kind, startMs, performance.now(), attributes, { parent: this.ctx.trace.executionSpanId, spanId, ...(error === undefined ? {} : { error }) });
  }

  /** The invocation ended: abort what runs, drop what waits. */
  close(): void {
    for (const controller of this.fetchOps.values()) controller.abort();
    this.fetchOps.clear();
    this.queuedFetches.length = 0;
    if (this.zlib !== undefined) for (const stream of this.zlib.values()) stream.destroy();
    this.zlib = undefined;
  }

  /** A kind's own per-invocation operation counts (KV operations …), by counter. */
  private operations: Map<string, number> | undefined;

  private count(counter: string, limit: number): boolean {
    this.operations ??= new Map();
    const n = this.operations.get(counter) ?? 0;
    if (n >= limit) return false;
    this.operations.set(counter, n + 1);
    return true;
  }

  private subrequest(what: string): string | null {
    if (this.subrequests >= fetchLimits.subrequests) {
      return `too many subrequests: one request may make at most ${fetchLimits.subrequests} fetch() and binding calls (${what} refused)`;
    }
    this.subrequests++;
    return null;
  }

  /** Why an outbound request is malformed or over fetch()'s limits, or null (fetch and service bindings alike). */
  private checkRequest(url: string, headers: readonly string[], body: Uint8Array | null, redirect: string): string | null {
    if (redirect !== "follow" && redirect !== "manual" && redirect !== "error") return "fetch(): malformed request";
    if (url.length > fetchLimits.maxUrlLength) return `fetch(): the URL is longer than ${fetchLimits.maxUrlLength} characters`;
    if (headers.length > fetchLimits.maxHeaderEntries * 2) return `fetch(): more than ${fetchLimits.maxHeaderEntries} headers`;
    if (body !== null && body.byteLength > limits.requestBodyMaxBytes) return `fetch(): the body is over ${limits.requestBodyMaxBytes} bytes`;
    return null;
  }

  /** Runs `work` when one of the invocation's outbound connections is free. */
  private connection<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.activeFetches++;
        work().then(resolve, reject).finally(() => {
          this.activeFetches--;
          this.queuedFetches.shift()?.();
        });
      };
      if (this.activeFetches < fetchLimits.connections) run();
      else this.queuedFetches.push(run);
    });
  }

  fetch(op: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string): void {
    const reject = (message: string, name = "TypeError") => this.ctx.post(["fetched", op, 0, "", [], null, [], name, message]);
    const problem = this.checkRequest(url, headers, body, redirect);
    if (problem !== null) return reject(problem);
    const refused = this.subrequest("fetch");
    if (refused !== null) return reject(refused);
    const controller = new AbortController();
    this.fetchOps.set(op, controller);
    // W3C trace context travels with every outbound fetch (and service binding call: bindings/service/host.ts).
    const spanId = this.ctx.trace === undefined ? undefined : newSpanId();
    const request: OutboundRequest = { method, url, headers: this.withTrace(headers, spanId), body, redirect: redirect as OutboundRequest["redirect"] };
    const spanStart = performance.now();
    const spanName = `fetch ${method}`;
    const spanAttributes = (status: number): Record<string, string | number | boolean> => {
      const a: Record<string, string | number | boolean> = { "http.request.method": method.slice(0, 32), "url.full": redactedUrl(url) };
      if (status !== 0) a["http.response.status_code"] = status;
      return a;
    };
    const run = () => {
      this.activeFetches++;
      const started = Date.now();
      outboundFetch(request, this.ctx.egress, { timeoutMs: Math.max(1, this.ctx.deadline() - performance.now()), maxResponseBytes: fetchLimits.maxResponseBytes }, controller.signal)
        .then(
          (r): GuestEvent => {
            this.ctx.egressed("allowed", (body?.byteLength ?? 0) + (r.body?.byteLength ?? 0));
            this.ctx.log("info", `fetch ${method} ${url} → ${r.status} (${Date.now() - started} ms)`);
            this.span(spanId, spanName, "client", spanStart, spanAttributes(r.status), r.status >= 500 ? `HTTP ${r.status}` : undefined);
            return ["fetched", op, r.status, r.statusText, r.headers, r.body, r.urlList, "", ""];
          },
          (err: unknown): GuestEvent => {
            const error = err instanceof OutboundError ? err : new OutboundError(`fetch to ${url} failed: ${String(err)}`);
            this.ctx.egressed(error.message.startsWith("egress_denied") ? "denied" : "failed", 0);
            this.ctx.log(error.message.startsWith("egress_denied") ? "warn" : "info", `fetch ${method} ${url} → ${error.message}`);
            this.span(spanId, spanName, "client", spanStart, spanAttributes(0), error.message);
            return ["fetched", op, 0, "", [], null, [], error.errorName, error.message];
          },
        )
        .then((event) => {
          this.activeFetches--;
          this.fetchOps.delete(op);
          this.queuedFetches.shift()?.();
          if (!controller.signal.aborted) this.ctx.post(event);
        });
    };
    if (this.activeFetches < fetchLimits.connections) run();
    else this.queuedFetches.push(run);
  }

  fetchAbort(op: number): void {
    this.fetchOps.get(op)?.abort();
  }

  /**
   * A call on the binding channel (`env.NAME.method(…)` of a kind under src/bindings/): the
   * binding is looked up here — the guest names only its binding — and the kind's host side
   * does the rest. The answer goes back as a "bindingDone" event.
   */
  bindingCall(op: number, kind: string, name: string, method: string, strings: string[], buffers: Uint8Array[]): void {
    const done = (answer: BindingAnswer) => this.ctx.post(["bindingDone", op, answer.errorName, answer.error, answer.strings, answer.buffers]);
    const host = hostBindings.get(kind);
    const found = host === undefined ? undefined : this.ctx.bindings.find((b) => b.name === name && b.kind === kind);
    if (host === undefined || found === undefined || this.ctx.calls === undefined) {
      return done({ errorName: "TypeError", error: `env.${name.slice(0, 64)} is not a ${kind.slice(0, 32)} binding of this function`, strings: [], buffers: [] });
    }
    const calls = this.ctx.calls;
    const context: BindingCallContext = {
      caller: this.ctx.function,
      invocationId: this.ctx.invocationId,
      depth: this.ctx.depth,
      hops: this.ctx.hops,
      subrequest: (what) => this.subrequest(what),
      count: (counter, limit) => this.count(counter, limit),
      checkRequest: (url, headers, body, redirect) => this.checkRequest(url, headers, body, redirect),
      connection: (work) => this.connection(work),
      log: (level, message) => this.ctx.log(level, message),
      call: async (span, method, strings, buffers, errorOf) => {
        const spanId = this.ctx.trace === undefined ? undefined : newSpanId();
        const trace = this.outboundTrace(spanId);
        const started = performance.now();
        try {
          const result = await calls({
            kind, caller: this.ctx.function, invocationId: this.ctx.invocationId, target: found.target, method, depth: this.ctx.depth,
            ...(this.ctx.hops === undefined ? {} : { hops: this.ctx.hops }),
            trace: trace.parent, ...(trace.state === undefined ? {} : { traceState: trace.state }),
            strings, buffers,
          });
          this.span(spanId, span.name, span.kind, started, span.attributes(result), errorOf(result));
          return result;
        } catch (err) {
          this.span(spanId, span.name, span.kind, started, span.attributes(undefined), messageOf(err));
          throw err;
        }
      },
    };
    host.call(context, name, found.target, method, strings, buffers).then(done, (err: unknown) => done({ errorName: "Error", error: messageOf(err), strings: [], buffers: [] }));
  }

  zlibOpen(stream: number, format: string, compress: boolean): string | null {
    this.zlib ??= new Map();
    if (this.zlib.size >= compressionLimits.streamsPerInvocation) {
      return `too many compression streams: at most ${compressionLimits.streamsPerInvocation} per request`;
    }
    try {
      this.zlib.set(stream, new ZlibStream(format, compress));
    } catch (err) {
      return messageOf(err);
    }
    return null;
  }

  zlibWrite(stream: number, op: number, bytes: Uint8Array, final: boolean): void {
    const zlib = this.zlib?.get(stream);
    if (zlib === undefined) {
      this.ctx.post(["zlibDone", op, null, "the compression stream is closed"]);
      return;
    }
    this.ctx.jobs.run({
      owner: this.ctx.tenant,
      wanted: () => this.ctx.live(),
      start: () =>
        zlib.write(bytes, final).then(({ output, error }) => {
          if (final || error !== undefined) this.zlib?.delete(stream);
          this.ctx.post(["zlibDone", op, output, error === undefined ? "" : error.message]);
        }),
    });
  }

  zlibClose(stream: number): void {
    this.zlib?.get(stream)?.destroy();
    this.zlib?.delete(stream);
  }

  /**
   * One crypto.subtle call (web-crypto-ops.ts). Node runs the heavy ones on its thread
   * pool, which the host shares fairly between tenants (fair-jobs.ts); an invocation runs
   * a few at a time.
   */
  subtle(op: number, method: string, json: string, buffers: Uint8Array[]): void {
    const spanId = this.ctx.trace === undefined ? undefined : newSpanId();
    const called = performance.now();
    const start = (): Promise<void> =>
      runSubtle(method, json, buffers)
        .then(
          (result): [GuestEvent, string | undefined] => [["subtleDone", op, "", result.json, result.buffers], undefined],
          (err: unknown): [GuestEvent, string | undefined] => {
            const message = err instanceof SubtleError ? `${err.errorName}: ${err.message}` : `OperationError: ${String(err)}`;
            return [["subtleDone", op, message, "", []], message];
          },
        )
        .then(([event, error]) => {
          // From the call, so the span shows the wait for a thread-pool slot too.
          this.span(spanId, `crypto.subtle.${method.slice(0, 32)}`, "internal", called, {}, error);
          this.ctx.post(event);
        });
    this.ctx.jobs.run({ owner: this.ctx.tenant, wanted: () => this.ctx.live(), start });
  }
}
