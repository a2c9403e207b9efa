import { existsSync } from "node:fs";
import * as path from "node:path";
import type { DeployRequest, FlickClient, ScaleRequest } from "../api/index.ts";
import { bindingApiKeys, bindingSettings, type BindingApiKey } from "../bindings/index.ts";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, configFileName, resolveConnection } from "./config.ts";
import { limits } from "../model/index.ts";
import { bytes } from "./format.ts";
import { nameFromEntry, parseDuration, parseInteger, parsePair } from "./parse.ts";
import type { ProjectConfig } from "./project-config.ts";
import { scaleLine } from "./functions.ts";
import { trafficLine } from "./traffic.ts";



/** `--service-binding`, `--queue-binding`, …: one repeatable NAME=TARGET flag per binding kind. */
function bindingOptions(): Record<string, { type: "string"; multiple: true }> {
  return Object.fromEntries(bindingSettings.map((k) => [k.flag, { type: "string", multiple: true }]));
}

export const settingOptions = {
  config: { type: "string" },
  name: { type: "string" },
  memory: { type: "string" },
  timeout: { type: "string" },
  "cpu-limit": { type: "string" },
  env: { type: "string", multiple: true },
  secret: { type: "string", multiple: true },
  private: { type: "boolean" },
  public: { type: "boolean" },
  unset: { type: "string", multiple: true },
  canary: { type: "string" },
  tenant: { type: "string" },
  retries: { type: "string" },
  "max-event-age": { type: "string" },
  cron: { type: "string", multiple: true },
  ...bindingOptions(),
  tz: { type: "string" },
  "cron-missed": { type: "string" },
} as const;
/** Part of a WASI program's code (its version), not settings: given on every deploy of a .wasm. */
export const wasiOptions = {
  arg: { type: "string", multiple: true },
  dir: { type: "string", multiple: true },
} as const;
const deployOptions = { ...connectionOptions, ...settingOptions, ...wasiOptions };

export const settingHelp = [
  "--config FILE       settings file (default: ./flick.toml when no entry is given; see docs/config.md)",
  "--name N            function name (default: the config's name, else from the file name)",
  "--memory MiB        isolate memory limit (default 128, 16..1024)",
  "--timeout DUR       wall-clock limit per request, e.g. 30s or 1500ms (default 30s)",
  "--cpu-limit DUR     CPU time one request may use, e.g. 50ms (default: none beyond the timeout)",
  "--env K=V           a plain variable in env (repeatable; shown by `flick info`)",
  "--secret K=V        a secret in env (repeatable; stored encrypted, never shown; or `flick secret put`)",
  "--private           calls to /fn/<name> need a token of the function's tenant (--public: anyone may call)",
  "--unset SETTING     back to the default: memory, timeout, cpu-limit, private, retries, max-event-age, cron,",
  `                    tz, cron-missed, env, env.NAME, secret.NAME, ${bindingSettings.map((k) => `${k.flag}.NAME`).join(", ")}`,
  "--canary PERCENT    the new version takes this share of the requests (1-99%), the live one the rest;",
  "                    then flick traffic, flick promote, or flick rollback to end it",
  "--tenant T          deploy for tenant T (admin token only; default: default)",
  "--retries N         async invocations: retries after a function error or timeout (default 2, 0..10)",
  "--max-event-age DUR async invocations: give up on throttles and faults after this age (default 6h, 1s..6h)",
  ...bindingSettings.map((k) => `--${`${k.flag} NAME=FN`.padEnd(23)}  ${k.help}`),
  "--cron EXPR         run the scheduled handler on this schedule, e.g. \"*/5 * * * *\" or @daily (repeatable)",
  "--tz ZONE           time zone of the cron fields, e.g. Europe/Paris (default UTC)",
  "--cron-missed once|skip  runs missed while the node was down: run the latest once at start (default), or skip",
  "Settings stick: a deploy changes what its flags and config name and keeps the rest (flick info shows where",
  "each setting came from).",
];
export const wasiHelp = [
  "--arg A             a .wasm program's argument after its name (repeatable, in order)",
  "--dir LOCAL:/GUEST  ship a directory with a .wasm program; it sees it read-only at /GUEST, with a writable",
  "                    overlay of its own per request (repeatable; 8 MiB and 2,000 files in all)",
];
const deployHelp = [...settingHelp, ...wasiHelp, ...connectionHelp];

type Values = Record<string, string | boolean | string[] | undefined>;

/** `--unset` names (the flags' own, or the API's) → the API's setting keys. */
const unsetNames: Record<string, string> = {
  memory: "memoryMiB", timeout: "timeoutMs", "cpu-limit": "cpuLimitMs", private: "private", public: "private", retries: "retries",
  "max-event-age": "maxEventAgeMs", cron: "crons", crons: "crons", tz: "timeZone", "cron-missed": "cronMissed",
  env: "env", secret: "secrets", secrets: "secrets",
  ...Object.fromEntries(bindingSettings.map((k) => [k.flag, k.apiKey])),
};
/** The settings that are maps: `--unset KEY.NAME` removes one entry. */
const mapSettings = new Set<string>(["env", "secrets", ...bindingApiKeys]);
const apiKeys = new Set(Object.values(unsetNames));

function unsetKey(text: string): string {
  const dot = text.indexOf(".");
  const head = dot < 0 ? text : text.slice(0, dot);
  const key = unsetNames[head] ?? (apiKeys.has(head) ? head : undefined);
  const isMap = key !== undefined && mapSettings.has(key);
  if (key === undefined || (dot >= 0 && (!isMap || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(dot + 1))))) {
    const bindings = bindingSettings.map((k) => `${k.flag}.NAME`);
    throw new FlickError("bad_request", `--unset ${text}: expected memory, timeout, cpu-limit, private, retries, max-event-age, cron, tz, cron-missed, env, env.NAME, secret.NAME, ${bindings.slice(0, -1).join(", ")} or ${bindings.at(-1)}`);
  }
  return dot < 0 ? key : `${key}${text.slice(dot)}`;
}

/** The deploy request (without code) the flags ask for, on top of the config file's. */
export function requestFrom(values: Values, base: Omit<DeployRequest, "code"> = {}): Omit<DeployRequest, "code"> {
  const request: Omit<DeployRequest, "code"> = structuredClone(base);
  const origin: Record<string, string> = { ...request.origin };
  const flag = <K extends keyof DeployRequest>(name: string, key: K, value: DeployRequest[K]) => {
    (request as DeployRequest)[key] = value;
    origin[key] = `--${name}`;
  };
  const pairs = (name: string, key: "env" | "secrets" | BindingApiKey) => {
    const given = values[name] as string[] | undefined;
    if (given === undefined) return;
    const map = { ...request[key] };
    for (const [k, v] of given.map((e) => parsePair(e, `--${name}`))) {
      map[k] = v;
      origin[`${key}.${k}`] = `--${name}`;
    }
    request[key] = map;
  };
  // Unset first, so a flag's unset also drops what the config file would set.
  for (const text of (values["unset"] as string[] | undefined) ?? []) {
    const key = unsetKey(text);
    const [map, entry] = key.split(".") as [keyof DeployRequest, string | undefined];
    if (entry === undefined) delete (request as Record<string, unknown>)[map];
    else delete ((request as Record<string, unknown>)[map] as Record<string, string> | undefined)?.[entry];
    request.unset = [...(request.unset ?? []), key];
  }
  if (values["memory"] !== undefined) flag("memory", "memoryMiB", parseInteger(values["memory"] as string, "--memory", limits.memoryMiB, "MiB"));
  if (values["timeout"] !== undefined) flag("timeout", "timeoutMs", parseDuration(values["timeout"] as string, "--timeout", limits.timeoutMs));
  if (values["cpu-limit"] !== undefined) flag("cpu-limit", "cpuLimitMs", parseDuration(values["cpu-limit"] as string, "--cpu-limit", limits.cpuLimitMs));
  pairs("env", "env");
  pairs("secret", "secrets");
  if (values["private"] === true && values["public"] === true) throw new FlickError("bad_request", "--private and --public: give one of them");
  if (values["private"] === true) flag("private", "private", true);
  if (values["public"] === true) flag("public", "private", false);
  if (values["tenant"] !== undefined) request.tenant = values["tenant"] as string;
  if (values["canary"] !== undefined) {
    const text = (values["canary"] as string).replace(/%$/, "");
    request.canary = parseInteger(text, "--canary", { min: 1, max: 99 }, "%");
  }
  if (values["retries"] !== undefined) flag("retries", "retries", parseInteger(values["retries"] as string, "--retries", limits.retries));
  if (values["max-event-age"] !== undefined) flag("max-event-age", "maxEventAgeMs", parseDuration(values["max-event-age"] as string, "--max-event-age", limits.maxEventAgeMs));
  if (values["cron"] !== undefined) flag("cron", "crons", values["cron"] as string[]);
  for (const kind of bindingSettings) pairs(kind.flag, kind.apiKey);
  if (values["tz"] !== undefined) flag("tz", "timeZone", values["tz"] as string);
  if (values["cron-missed"] !== undefined) {
    const missed = values["cron-missed"] as string;
    if (missed !== "once" && missed !== "skip") throw new FlickError("bad_request", `--cron-missed ${missed}: expected once or skip`);
    flag("cron-missed", "cronMissed", missed);
  }
  if (Object.keys(origin).length > 0) request.origin = origin;
  return request;
}

/** What to deploy: the entry, the name, the settings (config file, then flags) and the config's scale. */
export interface DeployPlan {
  entry: string;
  /** A .wasm entry's `--arg`s and `--dir`s (part of its code). */
  wasi?: { args: string[]; dirs: string[] };
  name: string;
  request: Omit<DeployRequest, "code">;
  scale?: ScaleRequest;
  config?: ProjectConfig;
}

/**
 * The deploy the command line asks for. With no entry argument, the settings file is
 * `--config` or ./flick.toml and its `entry` is deployed; with one, a file is read only
 * when `--config` names it.
 */
export async function planDeploy(values: Values, positionals: string[]): Promise<DeployPlan> {
  const configFile = (values["config"] as string | undefined) ?? (positionals.length === 0 ? configFileName : undefined);
  let config: ProjectConfig | undefined;
  if (configFile !== undefined) {
    if (positionals.length === 0 && values["config"] === undefined && !existsSync(configFileName)) {
      throw new FlickError("bad_request", `no entry file given and no ${configFileName} here (${process.cwd()}); give one (flick deploy src/index.ts), or make a project with \`flick init\``);
    }
    // Loaded on use: the TOML parser is not needed to start the CLI.
    const { loadProjectConfig } = await import("./project-config.ts");
    config = loadProjectConfig(configFile);
  }
  const entry = positionals[0] !== undefined ? path.resolve(positionals[0]) : config?.entry;
  if (entry === undefined) throw new FlickError("bad_request", `${configFile}: no entry = "…" saying which module to deploy; add one (entry = "src/index.ts") or give it: flick deploy src/index.ts`);
  const name = (values["name"] as string | undefined) ?? config?.name ?? nameFromEntry(entry);
  // Flags replace the config file's lists (they are the program's, not settings that stick).
  const args = (values["arg"] as string[] | undefined) ?? config?.wasi?.args ?? [];
  const dirs = (values["dir"] as string[] | undefined) ?? config?.wasi?.dirs ?? [];
  const isWasm = entry.endsWith(".wasm");
  if (!isWasm && (args.length > 0 || dirs.length > 0)) {
    throw new FlickError("bad_request", `--arg and --dir (or [wasi] in ${configFileName}) are for WebAssembly programs (a .wasm entry); ${path.basename(entry)} is a JavaScript/TypeScript module: it reads env instead`);
  }
  return {
    entry, name, request: requestFrom(values, config?.request),
    ...(isWasm ? { wasi: { args, dirs } } : {}),
    ...(config?.scale === undefined ? {} : { scale: config.scale }), ...(config === undefined ? {} : { config }),
  };
}

/** The plan's entry bundled with its npm dependencies, as a deploy request with the plan's settings. */
export async function bundled(plan: DeployPlan): Promise<DeployRequest> {
  // Loaded on use: esbuild is not needed to start the CLI.
  const bundle = plan.wasi !== undefined ? await (await import("../wasi/index.ts")).bundleWasi(plan.entry, plan.wasi) : await (await import("../build/index.ts")).bundleFunction(plan.entry);
  for (const warning of bundle.warnings) console.error(`warning: ${warning}`);
  const request: DeployRequest = { ...plan.request, code: bundle.code, sourceMap: bundle.sourceMap };
  if (Object.keys(bundle.wasm).length > 0) request.wasm = Object.fromEntries(Object.entries(bundle.wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
  return request;
}

async function deployOnce(client: FlickClient, plan: DeployPlan, json: boolean): Promise<void> {
  const request = await bundled(plan);
  const result = await client.deploy(plan.name, request);
  const scaled = plan.scale === undefined || Object.keys(plan.scale).length === 0 ? undefined : await client.scale(plan.name, plan.scale);
  if (json) return void printJson(scaled === undefined ? result : { ...result, function: scaled });
  const what = result.changed ? "deployed" : "unchanged (this exact version is already live)";
  console.log(`${plan.name}: ${what}`);
  console.log(`  version  ${result.version} (${bytes(Buffer.byteLength(request.code ?? ""))} bundled)`);
  console.log(`  url      ${result.function.url}`);
  if (result.function.traffic.length > 1) console.log(`  traffic  ${trafficLine(result.function)} (flick promote ${plan.name} when it looks good, flick rollback ${plan.name} to stop)`);
  if (scaled !== undefined) console.log(`  scale    ${scaleLine(scaled.scale)}`);
}

export const deploy: Command = {
  name: "deploy",
  summary: "Bundle a function with its npm dependencies and make it live.",
  usage: "deploy [entry.ts|.js|.wasm] [--arg A]… [--dir LOCAL:/GUEST]… [--config flick.toml] [--name N] [--memory MiB] [--timeout 30s] [--env K=V]… [--secret K=V]… [--private|--public] [--unset SETTING]… [--cron EXPR]… [--tz ZONE]",
  optionHelp: [jsonHelp, ...deployHelp],
  examples: [
    "flick deploy                      (the function ./flick.toml describes)",
    "flick deploy examples/hello.ts",
    "flick deploy src/index.ts --name api --memory 256 --timeout 10s --env MODE=prod --secret DB_PASSWORD=hunter2",
    "flick deploy examples/cron-report.ts --cron \"0 9 * * MON-FRI\" --tz Europe/Paris",
  ],
  options: { ...deployOptions, ...jsonOption },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals }) {
    const plan = await planDeploy(values, positionals);
    await deployOnce(clientFor(resolveConnection(values as never)), plan, values["json"] === true);
  },
};
