/**
 * `flick.toml`: a function's settings beside its code, read by `flick deploy`, `flick dev`
 * and `flick types`. Every problem names the file, the line and the key. What the file says
 * becomes a deploy request; flags given on the command line go on top (deploy.ts).
 *
 * A scalar the file leaves out keeps its live value (settings stick); a table it has
 * (`[env]`, `[cron]`, `[bindings.services]`, `[bindings.queues]`) is the whole of that
 * setting, so a name removed from the file is removed from the function.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse, TomlError } from "smol-toml";
import type { DeployRequest, ScaleRequest } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import { functionNamePattern, limits } from "../model/index.ts";
import { parseDuration, parseInteger } from "./parse.ts";
import { closest } from "./suggest.ts";
import { bindingSettings } from "../bindings/index.ts";


/** What a config file asks for. */
export interface ProjectConfig {
  /** The file, absolute. */
  file: string;
  name?: string;
  /** The entry module, absolute (relative to the file's folder in the file). */
  entry?: string;
  /** The settings it names, as a deploy request without code (`origin` says the file). */
  request: Omit<DeployRequest, "code">;
  /** `[scale]`: applied with `flick scale` after the deploy. */
  scale?: ScaleRequest;
  /** `[env]` as written, for `flick types`. */
  env: Record<string, string>;
  /** `[wasi]`: a .wasm entry's arguments and shipped directories (locals absolute). */
  wasi?: { args?: string[]; dirs?: string[] };
}

const topKeys = ["name", "entry", "memory", "timeout", "cpu_limit", "private", "retries", "max_event_age", "env", "cron", "bindings", "scale", "wasi"];
const wasiKeys = ["args", "dirs"];
const cronKeys = ["schedules", "time_zone", "missed"];
const bindingKeys = bindingSettings.map((k) => k.table);
const scaleKeys = ["min_instances", "max_instances"];
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The line each key is on: `table.key` → 1-based line, from `[table]` headers and `key =`
 * lines (a dotted or quoted key counts as written). Inline tables are found by their key's line.
 */
function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table: string[] = [];
  const unquote = (k: string) => k.trim().replace(/^"(.*)"$|^'(.*)'$/, "$1$2");
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header !== null) {
      table = header[1]!.split(".").map(unquote);
      if (!lines.has(table.join("."))) lines.set(table.join("."), index + 1);
      return;
    }
    const assignment = /^((?:"[^"]*"|'[^']*'|[A-Za-z0-9_.\- ]+?))\s*=/.exec(line);
    if (assignment !== null) {
      const key = [...table, ...assignment[1]!.split(".").map(unquote)].join(".");
      if (!lines.has(key)) lines.set(key, index + 1);
    }
  });
  return lines;
}

export function loadProjectConfig(file: string): ProjectConfig {
  const absolute = path.resolve(file);
  const label = path.basename(absolute);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new FlickError("bad_request", `${file}: no such file; \`flick init\` makes one, or give the entry file: flick deploy src/index.ts`);
    }
    throw new FlickError("bad_request", `${file}: cannot read it: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
      throw new FlickError("bad_request", `${file}:${err.line}:${err.column}: ${first} (TOML syntax: https://toml.io)`);
    }
    throw err;
  }
  const lines = keyLines(text);
  /** The line of `key`, or of the nearest table around it. */
  const where = (key: string) => {
    for (let parts = key.split("."); parts.length > 0; parts = parts.slice(0, -1)) {
      const line = lines.get(parts.join("."));
      if (line !== undefined) return `${file}:${line}`;
    }
    return file;
  };
  const fail = (key: string, problem: string): never => {
    throw new FlickError("bad_request", `${where(key)}: ${key}: ${problem}`);
  };
  /** Re-throws a flag parser's error with the file and line in front. */
  const within = <T>(key: string, parseValue: () => T): T => {
    try {
      return parseValue();
    } catch (err) {
      if (err instanceof FlickError) throw new FlickError("bad_request", `${where(key)}: ${err.message}`);
      throw err;
    }
  };
  const onlyKnown = (table: Record<string, unknown>, known: string[], prefix: string) => {
    for (const key of Object.keys(table)) {
      if (known.includes(key)) continue;
      const meant = closest(key, known);
      if (prefix === "" && key === "secrets") fail(key, `secrets do not go in ${label} (it is meant to be committed); set them with \`flick secret put NAME\``);
      fail(`${prefix}${key}`, `unknown key${meant === undefined ? "" : `; did you mean "${meant}"?`} (${prefix === "" ? "top-level keys" : `keys of [${prefix.slice(0, -1)}]`}: ${known.join(", ")})`);
    }
  };
  const tableAt = (key: string, value: unknown): Record<string, unknown> => {
    if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Date) fail(key, `expected a table ([${key}])`);
    return value as Record<string, unknown>;
  };
  const text_ = (key: string, value: unknown): string => {
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    return fail(key, `expected a string, got ${JSON.stringify(value)}`);
  };
  /** A string map (env, bindings): names checked, numbers and booleans written as text. */
  const names = (key: string, value: unknown, what: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [name, v] of Object.entries(tableAt(key, value))) {
      if (!envName.test(name)) fail(`${key}.${name}`, `${what} names are letters, digits and _, not starting with a digit`);
      if (typeof v === "string") out[name] = v;
      else if (typeof v === "number" || typeof v === "boolean") out[name] = String(v);
      else fail(`${key}.${name}`, `expected a string, got ${JSON.stringify(v)}`);
    }
    return out;
  };

  onlyKnown(doc, topKeys, "");
  const config: ProjectConfig = { file: absolute, request: {}, env: {} };
  const request = config.request;
  const origin: Record<string, string> = {};
  const unset: string[] = [];
  const given = (key: string) => void (origin[key] = label);

  if (doc["name"] !== undefined) {
    const name = doc["name"];
    if (typeof name !== "string" || !functionNamePattern.test(name)) fail("name", "function names are 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit");
    config.name = name as string;
  }
  if (doc["entry"] !== undefined) {
    if (typeof doc["entry"] !== "string") fail("entry", "expected the path of the function's module, e.g. \"src/index.ts\"");
    config.entry = path.resolve(path.dirname(absolute), doc["entry"] as string);
  }
  if (doc["memory"] !== undefined) {
    request.memoryMiB = within("memory", () => parseInteger(String(doc["memory"]), "memory =", limits.memoryMiB, "MiB"));
    given("memoryMiB");
  }
  if (doc["timeout"] !== undefined) {
    request.timeoutMs = within("timeout", () => parseDuration(text_("timeout", doc["timeout"]), "timeout =", limits.timeoutMs));
    given("timeoutMs");
  }
  if (doc["cpu_limit"] !== undefined) {
    request.cpuLimitMs = within("cpu_limit", () => parseDuration(text_("cpu_limit", doc["cpu_limit"]), "cpu_limit =", limits.cpuLimitMs));
    given("cpuLimitMs");
  }
  if (doc["private"] !== undefined) {
    if (typeof doc["private"] !== "boolean") fail("private", "expected true or false");
    request.private = doc["private"] as boolean;
    given("private");
  }
  if (doc["retries"] !== undefined) {
    request.retries = within("retries", () => parseInteger(String(doc["retries"]), "retries =", limits.retries));
    given("retries");
  }
  if (doc["max_event_age"] !== undefined) {
    request.maxEventAgeMs = within("max_event_age", () => parseDuration(text_("max_event_age", doc["max_event_age"]), "max_event_age =", limits.maxEventAgeMs));
    given("maxEventAgeMs");
  }
  if (doc["env"] !== undefined) {
    config.env = names("env", doc["env"], "env");
    request.env = config.env;
    unset.push("env");
    given("env");
  }
  if (doc["cron"] !== undefined) {
    const cron = tableAt("cron", doc["cron"]);
    onlyKnown(cron, cronKeys, "cron.");
    const schedules = cron["schedules"] ?? [];
    if (!Array.isArray(schedules) || schedules.some((s) => typeof s !== "string")) fail("cron.schedules", "expected a list of cron expressions, e.g. [\"*/5 * * * *\", \"@daily\"]");
    unset.push("crons");
    if ((schedules as string[]).length > 0) {
      request.crons = schedules as string[];
      given("crons");
    }
    if (cron["time_zone"] !== undefined) {
      if (typeof cron["time_zone"] !== "string") fail("cron.time_zone", "expected an IANA time zone, e.g. \"Europe/Paris\"");
      request.timeZone = cron["time_zone"] as string;
      given("timeZone");
    }
    if (cron["missed"] !== undefined) {
      if (cron["missed"] !== "once" && cron["missed"] !== "skip") fail("cron.missed", "expected \"once\" or \"skip\"");
      request.cronMissed = cron["missed"] as "once" | "skip";
      given("cronMissed");
    }
  }
  if (doc["bindings"] !== undefined) {
    const bindings = tableAt("bindings", doc["bindings"]);
    onlyKnown(bindings, bindingKeys, "bindings.");
    // Each table replaces its whole map: a binding removed from the file is gone.
    for (const kind of bindingSettings) {
      if (bindings[kind.table] === undefined) continue;
      request[kind.apiKey] = names(`bindings.${kind.table}`, bindings[kind.table], "binding");
      unset.push(kind.apiKey);
      given(kind.apiKey);
    }
  }
  if (doc["scale"] !== undefined) {
    const scale = tableAt("scale", doc["scale"]);
    onlyKnown(scale, scaleKeys, "scale.");
    config.scale = {};
    if (scale["min_instances"] !== undefined) config.scale.minInstances = within("scale.min_instances", () => parseInteger(String(scale["min_instances"]), "min_instances =", { min: 0, max: 1000 }));
    if (scale["max_instances"] !== undefined) config.scale.maxInstances = within("scale.max_instances", () => parseInteger(String(scale["max_instances"]), "max_instances =", { min: 0, max: 100_000 }));
  }
  if (doc["wasi"] !== undefined) {
    const wasi = tableAt("wasi", doc["wasi"]);
    onlyKnown(wasi, wasiKeys, "wasi.");
    const strings = (key: string, example: string): string[] => {
      const list = wasi[key];
      if (!Array.isArray(list) || list.some((v) => typeof v !== "string")) fail(`wasi.${key}`, `expected a list of strings, e.g. ${example}`);
      return list as string[];
    };
    config.wasi = {};
    if (wasi["args"] !== undefined) config.wasi.args = strings("args", '["--verbose", "input.txt"]');
    if (wasi["dirs"] !== undefined) {
      // LOCAL:/GUEST, the local side relative to this file's folder.
      config.wasi.dirs = strings("dirs", '["static:/static"]').map((d) => {
        const colon = d.lastIndexOf(":");
        return colon <= 0 ? d : `${path.resolve(path.dirname(absolute), d.slice(0, colon))}${d.slice(colon)}`;
      });
    }
  }
  if (unset.length > 0) request.unset = unset;
  if (Object.keys(origin).length > 0) request.origin = origin;
  return config;
}
