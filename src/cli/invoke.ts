import { readFileSync } from "node:fs";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { parseHeader } from "./parse.ts";

export const invoke: Command = {
  name: "invoke",
  summary: "Call a function over HTTP and print the answer, or queue an async invocation (--async).",
  usage: "invoke <name> [--method M] [--path /p] [--header k:v]… [--data @file|text] | invoke <name> --async [--data …] [--idempotency-key K]",
  optionHelp: [
    "--async             queue the call and print its invocation id once it is durable; it runs as a POST with",
    "                    the data as body, retried on errors (`flick invocation <id>` shows how it went)",
    "--idempotency-key K with --async: a repeat within 24 h returns the first invocation and runs nothing",
    "--method M          HTTP method (default GET, or POST with --data)",
    "--path /p           path and query after the function name, e.g. /users?id=1",
    "--header k:v        a request header (repeatable)",
    "--data @file|text   request body: text, or @path to send a file's bytes",
    "--json              the answer as JSON: status, headers and body (base64 if not UTF-8); with --async, {id, duplicate}",
    ...connectionHelp,
  ],
  examples: ["flick invoke hello", "flick invoke resize --async --data '{\"key\":\"photos/1.jpg\"}'", "flick invoke json-api --path /sum --data '{\"numbers\":[1,2]}' --header content-type:application/json", "flick invoke upload --data @photo.jpg"],
  options: {
    ...connectionOptions,
    ...jsonOption,
    method: { type: "string" },
    path: { type: "string" },
    header: { type: "string", multiple: true },
    data: { type: "string" },
    async: { type: "boolean" },
    "idempotency-key": { type: "string" },
  },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const data = values["data"] as string | undefined;
    let body: Uint8Array | string | undefined = data;
    if (data?.startsWith("@")) {
      try {
        body = new Uint8Array(readFileSync(data.slice(1)));
      } catch (err) {
        throw new FlickError("bad_request", `--data ${data}: cannot read ${data.slice(1)} (${(err as NodeJS.ErrnoException).code ?? String(err)}); give an existing file after @`);
      }
    }
    if (values["async"] === true) {
      for (const flag of ["method", "path", "header"]) {
        if (values[flag] !== undefined) throw new FlickError("bad_request", `--${flag} does not apply to --async (an async invocation is a POST to / with the data as body)`);
      }
      const key = values["idempotency-key"] as string | undefined;
      const request =
        body === undefined ? { mode: "async" as const }
        : typeof body === "string" ? { mode: "async" as const, data: body }
        : { mode: "async" as const, base64: Buffer.from(body).toString("base64") };
      const queued = await clientFor(resolveConnection(values as never)).invokeAsync(positionals[0]!, request, key);
      if (values["json"] === true) {
        printJson(queued);
        return 0;
      }
      console.log(queued.id);
      if (queued.duplicate) console.error(`(the idempotency key was used before: this is that invocation, nothing new runs)`);
      return 0;
    }
    if (values["idempotency-key"] !== undefined) throw new FlickError("bad_request", "--idempotency-key goes with --async");
    const response = await clientFor(resolveConnection(values as never)).invoke(positionals[0]!, {
      ...(values["method"] === undefined ? {} : { method: (values["method"] as string).toUpperCase() }),
      ...(values["path"] === undefined ? {} : { path: values["path"] as string }),
      headers: ((values["header"] as string[] | undefined) ?? []).map(parseHeader),
      ...(body === undefined ? {} : { body }),
    });
    if (values["json"] === true) {
      // The function's answer as JSON: status, headers, and the body as text (base64 when it is not UTF-8).
      const bytes = new Uint8Array(await response.arrayBuffer());
      let text: string | undefined;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {}
      printJson({ status: response.status, headers: Object.fromEntries(response.headers), ...(text === undefined ? { base64: Buffer.from(bytes).toString("base64") } : { body: text }) });
      return response.headers.has("x-flick-error") ? 1 : 0;
    }
    console.log(`HTTP ${response.status} ${response.statusText}`);
    for (const [k, v] of response.headers) console.log(`${k}: ${v}`);
    console.log("");
    const bytes = new Uint8Array(await response.arrayBuffer());
    process.stdout.write(bytes);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 10) process.stdout.write("\n");
    // A platform error (not the function's own answer) is a failed command.
    return response.headers.has("x-flick-error") ? 1 : 0;
  },
};
