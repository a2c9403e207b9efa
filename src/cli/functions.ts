import { bindingSettings } from "../bindings/index.ts";
import type { FunctionInfo, FunctionStats } from "../api/index.ts";
import { connectionHelp, connectionOptions, jsonHelp as apiJsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { bytes, duration, table, time } from "./format.ts";
import type { SettingsView } from "../api/index.ts";
import { trafficLine } from "./traffic.ts";

const jsonHelp = "--json              print JSON instead of a table";

function settingsLine(s: SettingsView): string {
  return `${s.memoryMiB} MiB, ${duration(s.timeoutMs)}${s.private ? ", private" : ""}`;
}

export const ls: Command = {
  name: "ls",
  summary: "List the functions your token can see.",
  usage: "ls [--json]",
  optionHelp: [jsonHelp, ...connectionHelp],
  examples: ["flick ls", "FLICK_TOKEN=flk_… flick ls --json"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const fns = await clientFor(resolveConnection(values as never)).listFunctions();
    if (values["json"] === true) return void console.log(JSON.stringify(fns, null, 2));
    if (fns.length === 0) return void console.log("No functions yet. Deploy one: flick deploy examples/hello.ts");
    console.log(table(["NAME", "TENANT", "VERSION", "LIMITS", "UPDATED", "URL"], fns.map((f) => [f.name, f.tenant, f.liveVersion, settingsLine(f.settings), time(f.updatedAtMs), f.url])));
  },
};

export const info: Command = {
  name: "info",
  summary: "Show a function's settings, live version and URL (secret values are never shown).",
  usage: "info <name> [--json]",
  optionHelp: [jsonHelp, ...connectionHelp],
  examples: ["flick info hello"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const f = await clientFor(resolveConnection(values as never)).getFunction(positionals[0]!);
    if (values["json"] === true) return void console.log(JSON.stringify(f, null, 2));
    const env = Object.entries(f.settings.env);
    console.log(
      [
        `name       ${f.name}`,
        `tenant     ${f.tenant}`,
        `url        ${f.url}`,
        `version    ${f.liveVersion}`,
        `traffic    ${trafficLine(f)}`,
        `preview    ${f.previewUrl} (needs a token of the function's tenant)`,
        `memory     ${f.settings.memoryMiB} MiB`,
        `timeout    ${duration(f.settings.timeoutMs)}${f.settings.cpuLimitMs === null ? "" : `, CPU ${duration(f.settings.cpuLimitMs)} per request`}`,
        `access     ${f.settings.private ? "private (needs a token of its tenant)" : "public"}`,
        `env        ${env.length === 0 ? "-" : env.map(([k, v]) => `${k}=${v}`).join(", ")}`,
        `secrets    ${f.settings.secretNames.length === 0 ? "-" : f.settings.secretNames.map((k) => `${k}=••••`).join(", ")}`,
        `bindings   ${bindingsLine(f.settings)}`,
        `scale      ${scaleLine(f.scale)}`,
        `instances  ${f.stats.warm} warm (${f.stats.busy} busy, ${f.stats.provisioned} provisioned)`,
        `traffic    ${f.stats.invocations} invocations, ${f.stats.coldStarts} cold starts${f.stats.codeCache.hits + f.stats.codeCache.misses > 0 ? ` (${f.stats.codeCache.hits} from the V8 code cache)` : ""}, ${f.stats.throttled} throttled (429)`,
        `latency    ${f.stats.p50Ms === null ? "-" : `p50 ${f.stats.p50Ms} ms, p99 ${f.stats.p99Ms} ms`} (last ${duration(f.stats.windowMs)})`,
        `keep-alive ${f.stats.keepAlive === null ? "-" : keepAliveLine(f.stats.keepAlive)}`,
        `async      ${f.invocations === undefined ? "-" : `${f.invocations.queued} queued, ${f.invocations.running} running, ${f.invocations.completed} completed, ${f.invocations.dead} dead-lettered`}; retries ${f.settings.retries}, max event age ${duration(f.settings.maxEventAgeMs)}`,
        ...(f.cron ?? []).map((c) => `cron       ${c.expression} (${c.timeZone}, missed runs: ${f.settings.cronMissed}): next ${c.next.map(time).join(", ")}`),
        `created    ${time(f.createdAtMs)}`,
        `updated    ${time(f.updatedAtMs)}`,
        "",
        "settings (where each came from; flick deploy --unset SETTING returns one to its default)",
        ...sourceLines(f),
      ].join("\n"),
    );
  },
};

/** The settings' names as flags and `--unset` say them. */
const flagNames: Record<string, string> = {
  memoryMiB: "memory", timeoutMs: "timeout", cpuLimitMs: "cpu-limit", private: "private", retries: "retries", maxEventAgeMs: "max-event-age",
  crons: "cron", timeZone: "tz", cronMissed: "cron-missed", env: "env", secrets: "secret",
  ...Object.fromEntries(bindingSettings.map((k) => [k.apiKey, k.flag])),
};

/** One line per setting that is set (memory and timeout always): name, value, where it came from. */
function sourceLines(f: FunctionInfo): string[] {
  const s = f.settings;
  const value = (key: string): string => {
    const [head, entry] = key.split(".") as [string, string | undefined];
    switch (head) {
      case "memoryMiB": return `${s.memoryMiB} MiB`;
      case "timeoutMs": return duration(s.timeoutMs);
      case "cpuLimitMs": return s.cpuLimitMs === null ? "-" : duration(s.cpuLimitMs);
      case "private": return String(s.private);
      case "retries": return String(s.retries);
      case "maxEventAgeMs": return duration(s.maxEventAgeMs);
      case "crons": return s.crons.join(", ");
      case "timeZone": return s.timeZone;
      case "cronMissed": return s.cronMissed;
      case "env": return s.env[entry!] ?? "";
      case "secrets": return "••••";
      default: {
        const binding = bindingSettings.find((k) => k.apiKey === head);
        return binding === undefined ? "" : `→ ${s[binding.apiKey][entry!] ?? ""}`;
      }
    }
  };
  const keys = [...new Set(["memoryMiB", "timeoutMs", ...Object.keys(f.sources)])];
  const rows = keys.map((key) => {
    const [head, entry] = key.split(".") as [string, string | undefined];
    const source = f.sources[key];
    const shown = value(key);
    return [`  ${flagNames[head] ?? head}${entry === undefined ? "" : `.${entry}`}`, shown.length > 40 ? `${shown.slice(0, 39)}…` : shown, source === undefined ? "default" : `${source.from}, version ${source.version}`];
  });
  return table(["", "", ""], rows).split("\n").slice(1);
}

/** "API → users (service), JOBS → resize (queue)" or "-". */
function bindingsLine(settings: FunctionInfo["settings"]): string {
  const all = bindingSettings.flatMap((k) => Object.entries(settings[k.apiKey]).map(([n, t]) => `${n} → ${t} (${k.kind})`));
  return all.length === 0 ? "-" : all.join(", ");
}

/** "min 2, max none, pin zone=a, keep-alive node" for info and scale. */
export function scaleLine(scale: FunctionInfo["scale"]): string {
  const labels = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(",");
  const parts = [`min ${scale.minInstances}`, `max ${scale.maxInstances === null ? "none" : scale.maxInstances === 0 ? "0 (stopped)" : scale.maxInstances}`];
  if (Object.keys(scale.pin).length > 0) parts.push(`pin ${labels(scale.pin)}`);
  if (Object.keys(scale.avoid).length > 0) parts.push(`avoid ${labels(scale.avoid)}`);
  parts.push(`keep-alive ${scale.keepAlive === null ? "node" : scale.keepAlive.policy === "fixed" ? `fixed ${duration(scale.keepAlive.ttlMs)}` : "hybrid"}`);
  return parts.join(", ");
}

function keepAliveLine(k: NonNullable<FunctionStats["keepAlive"]>): string {
  const windows = k.prewarmMs > 0
    ? `kept ${duration(k.holdMs ?? 0)} after a call, pre-warmed after ${duration(k.prewarmMs)}, kept ${duration(k.keepAliveMs)}`
    : `kept ${duration(k.keepAliveMs)} after the last request`;
  const h = k.histogram;
  const learned = h === undefined ? "" : `: idle p5 ${duration(h.p5Ms)}, p50 ${duration(h.p50Ms)}, p99 ${duration(h.p99Ms)}${h.outOfRange > 0 ? `, ${h.outOfRange} over 4h` : ""}`;
  return `${windows} (${k.basis}${learned}; ${k.samples} idle periods)`;
}

export const versions: Command = {
  name: "versions",
  summary: "List a function's immutable versions, newest first; * marks the live one.",
  usage: "versions <name> [--json]",
  optionHelp: [jsonHelp, ...connectionHelp],
  examples: ["flick versions hello"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const list = await clientFor(resolveConnection(values as never)).listVersions(positionals[0]!);
    if (values["json"] === true) return void console.log(JSON.stringify(list, null, 2));
    console.log(table(["", "VERSION", "TRAFFIC", "CREATED", "SIZE", "LIMITS"], list.map((v) => [v.live ? "*" : "", v.id, `${v.percent}%`, time(v.createdAtMs), bytes(v.bundleBytes), settingsLine(v.settings)])));
  },
};

export const rollback: Command = {
  name: "rollback",
  summary: "Move the live pointer to an earlier version (the previous one by default).",
  usage: "rollback <name> [--to VERSION] [--json]",
  optionHelp: ["--to VERSION        version id from `flick versions` (default: the one before the live one)", apiJsonHelp, ...connectionHelp],
  examples: ["flick rollback hello", "flick rollback hello --to 3f2a9c0d1e2b4a5c"],
  options: { ...connectionOptions, ...jsonOption, to: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const f = await clientFor(resolveConnection(values as never)).rollback(positionals[0]!, values["to"] as string | undefined);
    if (values["json"] === true) return void printJson(f);
    console.log(`${f.name}: live version is now ${f.liveVersion}`);
  },
};

export const rm: Command = {
  name: "rm",
  summary: "Remove a function with all its versions and logs.",
  usage: "rm <name> [--json]",
  optionHelp: [apiJsonHelp, ...connectionHelp],
  examples: ["flick rm hello"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    await clientFor(resolveConnection(values as never)).removeFunction(positionals[0]!);
    if (values["json"] === true) return void printJson({ removed: positionals[0] });
    console.log(`${positionals[0]}: removed`);
  },
};
