/**
 * A WASI 0.2 HTTP component (one that exports `wasi:http/incoming-handler`, what Spin,
 * `wasmtime serve` and wasmCloud run) as a Flick function. At deploy jco transpiled it into
 * core modules and JavaScript glue (src/wasi/bundle-component.ts); here the glue is
 * instantiated with Flick's own WASI 0.2 interfaces (preview2-io.ts, preview2-http.ts),
 * inside the function's isolate and under its limits.
 *
 * Each request runs in a new instance of the component, as in wasmtime serve and Spin
 * (StarlingMonkey, the engine of JavaScript components, answers one request per instance),
 * on memory kept from the last request and zeroed (kept-memory.ts). It runs synchronously
 * unless it waits for an outgoing request (JSPI: preview2-http.ts); meanwhile other
 * requests run on their own instances and memories.
 *
 * This file is bundled into the function at deploy; it sees only what a function sees.
 */
import { LineLog } from "./line-log.ts";
import { baseInterfaces, ComponentExit, RunClock, type RunContext } from "./preview2-io.ts";
import { httpInterfaces, IncomingRequest, ResponseOutparam } from "./preview2-http.ts";
import { KeptMemory, type ImportedMemoryType } from "./kept-memory.ts";
import { wasm, type WasmMemory, type WasmModule } from "./wasm-api.ts";

interface IncomingHandler {
  /** A promise: the export is JSPI's `promising` (bundle-component.ts). */
  handle(request: IncomingRequest, responseOut: ResponseOutparam): void | Promise<void>;
}

type CoreInstance = { exports: Record<string, unknown> };

/** jco's `instantiate` in sync mode: core modules by file name, imports by interface, and how to instantiate a core module. */
export type Instantiate = (
  getCoreModule: (name: string) => WasmModule,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WasmModule, imports: Record<string, unknown>) => CoreInstance,
) => { incomingHandler?: IncomingHandler };

/** A component's kept memory is reused while it is at most this large (its engine's heap lives there). */
const keepMemoryBytes = 64 * 2 ** 20;

function errorResponse(message: string, more: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code: "function_error", message, ...more } }), {
    status: 502,
    headers: { "content-type": "application/json" },
  });
}

export function serveComponent(
  instantiate: Instantiate,
  coreModule: (name: string) => WasmModule,
  memoryOf: (name: string) => ImportedMemoryType | undefined,
): { fetch(request: Request, env?: Record<string, unknown>): Promise<Response> } {
  /** The core modules whose memory the runner provides (import-memory.ts), each with its kept memory. */
  const kept = new Map<WasmModule, KeptMemory>();
  const moduleOf = (name: string): WasmModule => {
    const module = coreModule(name);
    const type = memoryOf(name);
    if (type !== undefined && !kept.has(module)) kept.set(module, new KeptMemory(type, keepMemoryBytes));
    return module;
  };

  return {
    async fetch(request, env) {
      const body = new Uint8Array(await request.arrayBuffer());
      // The function's --env and --secret values are the component's environment (bindings are not strings: left out).
      const vars = Object.entries(env ?? {}).flatMap(([k, v]): [string, string][] => (typeof v === "string" ? [[k, v]] : []));
      const context: RunContext = { env: vars, clock: new RunClock(), stdout: new LineLog(console.log), stderr: new LineLog(console.error) };
      // Imports of this request's instance: while it waits for an answer, another request's may run.
      const imports = { ...baseInterfaces(() => context), ...httpInterfaces };
      const out = new ResponseOutparam();
      // Each request gets a new instance of the component, as wasmtime serve and Spin give
      // (a JavaScript component's engine answers one request per instance), on the kept memory.
      const lent: [KeptMemory, WasmMemory][] = [];
      const instantiateCore = (module: WasmModule, coreImports: Record<string, unknown>): CoreInstance => {
        const memory = kept.get(module);
        if (memory === undefined) return new wasm.Instance(module, coreImports);
        const given = memory.take();
        lent.push([memory, given]);
        return new wasm.Instance(module, { ...coreImports, ...memory.imports(given) });
      };
      try {
        const root = instantiate(moduleOf, imports, instantiateCore);
        if (root.incomingHandler === undefined) return errorResponse("the component exports no wasi:http/incoming-handler");
        await root.incomingHandler.handle(new IncomingRequest(request, body), out);
      } catch (err) {
        if (!(err instanceof ComponentExit)) {
          context.stdout.end();
          const stderr = context.stderr.end();
          if (err instanceof wasm.RuntimeError) return errorResponse(`the component trapped: ${(err as Error).message}`, { stderr });
          throw err;
        }
        if (!err.ok && out.result === undefined) {
          context.stdout.end();
          return errorResponse("the component exited with an error status before it answered", { stderr: context.stderr.end() });
        }
      } finally {
        for (const [memory, given] of lent) memory.give(given);
      }
      context.stdout.end();
      context.stderr.end();
      const result = out.result;
      if (result === undefined) return errorResponse("the component returned from wasi:http/incoming-handler.handle without setting a response (call response-outparam.set)");
      if (result.tag === "err") return errorResponse(`the component answered with the wasi:http error ${result.val.tag}`, { detail: JSON.stringify(result.val.val ?? null) });
      const response = result.val;
      if (response.status < 200 || response.status > 599) return errorResponse(`the component set the status ${response.status}; give one from 200 to 599`);
      const noBody = response.status === 204 || response.status === 205 || response.status === 304 || request.method === "HEAD";
      return new Response(noBody || response.body_ === undefined ? null : response.body_.bytes(), { status: response.status, headers: response.fields.toHeaders() });
    },
  };
}
