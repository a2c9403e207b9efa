/**
 * The settings of a deploy. Settings stick (`mergeSettings`): a deploy changes what it
 * names and keeps the rest of the live version's, and each setting remembers where it came
 * from (`sourcesOf`). Then the checks beyond the request schema: cron triggers (each
 * expression parses in its time zone) and bindings (names free in env, targets deployed and
 * of the same tenant — a binding never crosses a tenant boundary).
 */
import type { DeployRequest } from "../api/index.ts";
import { bindingApiKeys, bindingSettings as bindingKinds, type BindingApiKey } from "../bindings/index.ts";
import { FlickError } from "../errors/index.ts";
import { limits, type Binding, type FunctionSettings, type SettingKey, type SettingSource } from "../model/index.ts";
import { CronError, parseCron } from "../queue/index.ts";

/** A version's settings in a deploy request's terms: what a deploy merges into. */
export type DesiredSettings = Omit<DeployRequest, "code" | "tenant" | "wasm" | "unset" | "origin" | "canary" | "sourceMap">;

const scalarKeys = ["memoryMiB", "timeoutMs", "cpuLimitMs", "private", "retries", "maxEventAgeMs", "crons", "timeZone", "cronMissed"] as const;
const mapKeys: readonly ("env" | "secrets" | BindingApiKey)[] = ["env", "secrets", ...bindingApiKeys];

/**
 * The settings `settings` (with its opened `secrets`) were made from. Memory and timeout
 * always have a value; they count as set when a deploy set them (`sources`) or differ from
 * the default (a version from before sources were kept).
 */
export function desiredOf(settings: FunctionSettings, secrets: Record<string, string>, sources: Record<string, SettingSource> | undefined): DesiredSettings {
  const bindings = (kind: Binding["kind"]) => Object.fromEntries((settings.bindings ?? []).filter((b) => b.kind === kind).map((b) => [b.name, b.target]));
  const desired: DesiredSettings = {
    env: { ...settings.env },
    secrets: { ...secrets },
    ...(Object.fromEntries(bindingKinds.map((k) => [k.apiKey, bindings(k.kind)])) as Pick<DesiredSettings, BindingApiKey>),
  };
  if (sources?.["memoryMiB"] !== undefined || settings.memoryMiB !== limits.memoryMiB.default) desired.memoryMiB = settings.memoryMiB;
  if (sources?.["timeoutMs"] !== undefined || settings.timeoutMs !== limits.timeoutMs.default) desired.timeoutMs = settings.timeoutMs;
  if (sources?.["private"] !== undefined || settings.private) desired.private = settings.private;
  if (settings.cpuLimitMs !== undefined) desired.cpuLimitMs = settings.cpuLimitMs;
  if (settings.retries !== undefined) desired.retries = settings.retries;
  if (settings.maxEventAgeMs !== undefined) desired.maxEventAgeMs = settings.maxEventAgeMs;
  if ((settings.crons?.length ?? 0) > 0) desired.crons = [...settings.crons!];
  if (settings.cronTimeZone !== undefined) desired.timeZone = settings.cronTimeZone;
  if (settings.cronMissed !== undefined) desired.cronMissed = settings.cronMissed;
  return desired;
}

/**
 * The live settings (none for a new function) with the request's `unset` removed, then its
 * values on top — maps merged name by name — and the keys the request set. Unsetting
 * `crons` also unsets its time zone and missed-run policy, which only apply to crons.
 */
export function mergeSettings(live: DesiredSettings | undefined, request: DeployRequest): { desired: DesiredSettings; set: SettingKey[] } {
  const desired: DesiredSettings = structuredClone(live ?? {});
  const table = desired as Record<string, unknown>;
  for (const key of request.unset ?? []) {
    const dot = key.indexOf(".");
    if (dot < 0) {
      delete table[key];
      if (key === "crons") {
        delete desired.timeZone;
        delete desired.cronMissed;
      }
    } else {
      const map = table[key.slice(0, dot)] as Record<string, string> | undefined;
      if (map !== undefined) delete map[key.slice(dot + 1)];
    }
  }
  const set: SettingKey[] = [];
  const given = request as Record<string, unknown>;
  for (const key of scalarKeys) {
    if (given[key] === undefined) continue;
    table[key] = structuredClone(given[key]);
    set.push(key);
  }
  for (const key of mapKeys) {
    const entries = given[key] as Record<string, string> | undefined;
    if (entries === undefined) continue;
    table[key] = { ...(table[key] as Record<string, string> | undefined), ...entries };
    for (const name of Object.keys(entries)) set.push(`${key}.${name}`);
  }
  return { desired, set };
}

/** Every setting key `desired` has a value for (scalars given, map entries). */
function keysOf(desired: DesiredSettings): SettingKey[] {
  const table = desired as Record<string, unknown>;
  const keys: SettingKey[] = scalarKeys.filter((k) => table[k] !== undefined);
  for (const key of mapKeys) for (const name of Object.keys((table[key] as Record<string, string> | undefined) ?? {})) keys.push(`${key}.${name}`);
  return keys;
}

/**
 * Where each setting of the new version `version` came from: the request for what it set
 * (its `origin` for the key, else for the key's map, else "api"), the live version's record
 * for what it kept (a version from before sources were kept: "an earlier deploy" of it).
 */
export function sourcesOf(
  desired: DesiredSettings,
  set: readonly SettingKey[],
  origin: Record<string, string> | undefined,
  live: { id: string; sources?: Record<string, SettingSource> } | undefined,
  version: string,
): Record<string, SettingSource> {
  const setNow = new Set(set);
  const sources: Record<string, SettingSource> = {};
  for (const key of keysOf(desired)) {
    if (setNow.has(key)) sources[key] = { from: origin?.[key] ?? origin?.[key.replace(/\..*$/, "")] ?? "api", version };
    else sources[key] = live?.sources?.[key] ?? { from: "an earlier deploy", version: live?.id ?? version };
  }
  return sources;
}

/** The cron settings of a deploy, checked: each expression parses in the time zone. */
export function cronSettings(request: DesiredSettings): Pick<FunctionSettings, "crons" | "cronTimeZone" | "cronMissed"> {
  const crons = request.crons ?? [];
  if (crons.length === 0) {
    if (request.timeZone !== undefined || request.cronMissed !== undefined) {
      throw new FlickError("validation_failed", "timeZone and cronMissed apply to cron triggers; add at least one (flick deploy --cron \"*/5 * * * *\")");
    }
    return {};
  }
  const timeZone = request.timeZone ?? "UTC";
  const seen = new Set<string>();
  for (const expression of crons) {
    try {
      parseCron(expression, timeZone);
    } catch (err) {
      if (err instanceof CronError) throw new FlickError("validation_failed", `cron: ${err.message}`);
      throw err;
    }
    if (seen.has(expression.trim())) throw new FlickError("validation_failed", `cron: "${expression}" is given twice`);
    seen.add(expression.trim());
  }
  return {
    crons: crons.map((c) => c.trim()),
    ...(request.timeZone === undefined ? {} : { cronTimeZone: request.timeZone }),
    ...(request.cronMissed === undefined ? {} : { cronMissed: request.cronMissed }),
  };
}

/** The bindings of a deploy, checked: names free in env, and each target the tenant's to bind (its kind's check). */
export async function bindingSettings(
  request: DesiredSettings,
  name: string,
  env: Record<string, string>,
  secrets: Record<string, string>,
  checkTarget: (binding: Binding) => Promise<void>,
): Promise<Pick<FunctionSettings, "bindings">> {
  const bindings: Binding[] = bindingKinds.flatMap((k) => Object.entries(request[k.apiKey] ?? {}).map(([n, target]) => ({ name: n, kind: k.kind, target })));
  if (bindings.length === 0) return {};
  const seen = new Set<string>();
  for (const b of bindings) {
    if (b.name in env || b.name in secrets || seen.has(b.name)) {
      throw new FlickError("validation_failed", `"${b.name}" is used twice in env (vars, secrets and bindings share it); give each its own name`);
    }
    seen.add(b.name);
    await checkTarget(b);
  }
  return { bindings: bindings.sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
