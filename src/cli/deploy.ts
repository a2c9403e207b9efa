import { watch } from "node:fs";
import * as path from "node:path";
import type { DeployRequest, FlickClient } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { limits } from "../model/index.ts";
import { bytes, logLine } from "./format.ts";
import { nameFromEntry, parseDuration, parseInteger, parsePair } from "./parse.ts";

const deployOptions = {
  ...connectionOptions,
  name: { type: "string" },
  memory: { type: "string" },
  timeout: { type: "string" },
  "cpu-limit": { type: "string" },
  env: { type: "string", multiple: true },
  secret: { type: "string", multiple: true },
  private: { type: "boolean" },
  tenant: { type: "string" },
  retries: { type: "string" },
  "max-event-age": { type: "string" },
  cron: { type: "string", multiple: true },
  "service-binding": { type: "string", multiple: true },
  "queue-binding": { type: "string", multiple: true },
  tz: { type: "string" },
  "cron-missed": { type: "string" },
} as const;

const deployHelp = [
  "--name N            function name (default: from the file name)",
  "--memory MiB        isolate memory limit (default 128, 16..1024)",
  "--timeout DUR       wall-clock limit per request, e.g. 30s or 1500ms (default 30s)",
  "--cpu-limit DUR     CPU time one request may use, e.g. 50ms (default: none beyond the timeout)",
  "--env K=V           a plain variable in env (repeatable; shown by `flick info`)",
  "--secret K=V        a secret in env (repeatable; stored encrypted, never shown)",
  "--private           calls to /fn/<name> need a token of the function's tenant",
  "--tenant T          deploy for tenant T (admin token only; default: default)",
  "--retries N         async invocations: retries after a function error or timeout (default 2, 0..10)",
  "--max-event-age DUR async invocations: give up on throttles and faults after this age (default 6h, 1s..6h)",
  "--service-binding NAME=FN  env.NAME.fetch(request) calls function FN directly (same tenant; repeatable)",
  "--queue-binding NAME=FN    env.NAME.send(body) queues async invocations of FN (same tenant; repeatable)",
  "--cron EXPR         run the scheduled handler on this schedule, e.g. \"*/5 * * * *\" or @daily (repeatable)",
  "--tz ZONE           time zone of the cron fields, e.g. Europe/Paris (default UTC)",
  "--cron-missed once|skip  runs missed while the node was down: run the latest once at start (default), or skip",
  ...connectionHelp,
];

type Values = Record<string, string | boolean | string[] | undefined>;

function requestFrom(values: Values, code: string, wasm: Record<string, Uint8Array>): DeployRequest {
  const request: DeployRequest = { code };
  if (Object.keys(wasm).length > 0) request.wasm = Object.fromEntries(Object.entries(wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
  if (values["memory"] !== undefined) request.memoryMiB = parseInteger(values["memory"] as string, "--memory", limits.memoryMiB, "MiB");
  if (values["timeout"] !== undefined) request.timeoutMs = parseDuration(values["timeout"] as string, "--timeout", limits.timeoutMs);
  if (values["cpu-limit"] !== undefined) request.cpuLimitMs = parseDuration(values["cpu-limit"] as string, "--cpu-limit", limits.cpuLimitMs);
  if (values["env"] !== undefined) request.env = Object.fromEntries((values["env"] as string[]).map((e) => parsePair(e, "--env")));
  if (values["secret"] !== undefined) request.secrets = Object.fromEntries((values["secret"] as string[]).map((e) => parsePair(e, "--secret")));
  if (values["private"] === true) request.private = true;
  if (values["tenant"] !== undefined) request.tenant = values["tenant"] as string;
  if (values["retries"] !== undefined) request.retries = parseInteger(values["retries"] as string, "--retries", limits.retries);
  if (values["max-event-age"] !== undefined) request.maxEventAgeMs = parseDuration(values["max-event-age"] as string, "--max-event-age", limits.maxEventAgeMs);
  if (values["cron"] !== undefined) request.crons = values["cron"] as string[];
  if (values["service-binding"] !== undefined) request.serviceBindings = Object.fromEntries((values["service-binding"] as string[]).map((e) => parsePair(e, "--service-binding")));
  if (values["queue-binding"] !== undefined) request.queueBindings = Object.fromEntries((values["queue-binding"] as string[]).map((e) => parsePair(e, "--queue-binding")));
  if (values["tz"] !== undefined) request.timeZone = values["tz"] as string;
  if (values["cron-missed"] !== undefined) {
    const missed = values["cron-missed"] as string;
    if (missed !== "once" && missed !== "skip") throw new FlickError("bad_request", `--cron-missed ${missed}: expected once or skip`);
    request.cronMissed = missed;
  }
  return request;
}

async function deployOnce(client: FlickClient, entry: string, name: string, values: Values): Promise<void> {
  // Loaded on use: esbuild is not needed to start the CLI.
  const { bundleFunction } = await import("../build/index.ts");
  const bundle = await bundleFunction(entry);
  for (const warning of bundle.warnings) console.error(`warning: ${warning}`);
  const result = await client.deploy(name, requestFrom(values, bundle.code, bundle.wasm));
  if (values["json"] === true) return void printJson(result);
  const what = result.changed ? "deployed" : "unchanged (this exact version is already live)";
  console.log(`${name}: ${what}`);
  console.log(`  version  ${result.version} (${bytes(Buffer.byteLength(bundle.code))} bundled)`);
  console.log(`  url      ${result.function.url}`);
}

export const deploy: Command = {
  name: "deploy",
  summary: "Bundle a function with its npm dependencies and make it live.",
  usage: "deploy <entry.ts|.js> [--name N] [--memory MiB] [--timeout 30s] [--env K=V]… [--secret K=V]… [--private] [--cron EXPR]… [--tz ZONE]",
  optionHelp: [jsonHelp, ...deployHelp],
  examples: [
    "flick deploy examples/hello.ts",
    "flick deploy src/index.ts --name api --memory 256 --timeout 10s --env MODE=prod --secret DB_PASSWORD=hunter2",
    "flick deploy examples/cron-report.ts --cron \"0 9 * * MON-FRI\" --tz Europe/Paris",
  ],
  options: { ...deployOptions, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const entry = positionals[0]!;
    const client = clientFor(resolveConnection(values as never));
    await deployOnce(client, entry, (values["name"] as string | undefined) ?? nameFromEntry(path.resolve(entry)), values);
  },
};

export const dev: Command = {
  name: "dev",
  summary: "Deploy, then redeploy on every save in the entry's folder, printing the function's logs.",
  usage: "dev <entry.ts|.js> [deploy options]",
  optionHelp: deployHelp,
  examples: ["flick dev examples/json-api.ts"],
  options: deployOptions,
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const entry = positionals[0]!;
    const name = (values["name"] as string | undefined) ?? nameFromEntry(path.resolve(entry));
    const client = clientFor(resolveConnection(values as never));
    const redeploy = async () => {
      try {
        await deployOnce(client, entry, name, values);
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
      }
    };
    await redeploy();
    const dir = path.dirname(path.resolve(entry));
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (file !== null && /(^|[\\/])(node_modules|\.git|\.flick)([\\/]|$)/.test(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void redeploy(), 100);
    });
    console.log(`watching ${dir} — save to redeploy, Ctrl-C to stop`);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const follow = async () => {
      while (!controller.signal.aborted) {
        try {
          await client.followLogs(name, (line) => console.log(logLine(line)), { sinceMs: Date.now(), signal: controller.signal });
        } catch (err) {
          if (controller.signal.aborted) break;
          console.error(`logs: ${(err as Error).message}; retrying`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await follow();
    watcher.close();
    clearTimeout(timer);
  },
};
