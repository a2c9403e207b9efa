/**
 * The settings of a deploy that need checking beyond the request schema: cron triggers
 * (each expression parses in its time zone) and bindings (names free in env, targets
 * deployed and of the same tenant — a binding never crosses a tenant boundary).
 */
import type { DeployRequest } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import type { Binding, FunctionSettings } from "../model/index.ts";
import { CronError, parseCron } from "../queue/index.ts";

/** The cron settings of a deploy, checked: each expression parses in the time zone. */
export function cronSettings(request: DeployRequest): Pick<FunctionSettings, "crons" | "cronTimeZone" | "cronMissed"> {
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

/** The service and queue bindings of a deploy, checked: names free, targets deployed and of the same tenant. */
export async function bindingSettings(
  request: DeployRequest,
  tenant: string,
  name: string,
  env: Record<string, string>,
  secrets: Record<string, string>,
  getFunction: (name: string) => Promise<{ tenant: string } | undefined>,
): Promise<Pick<FunctionSettings, "bindings">> {
  const bindings: Binding[] = [
    ...Object.entries(request.serviceBindings ?? {}).map(([n, target]) => ({ name: n, kind: "service" as const, target })),
    ...Object.entries(request.queueBindings ?? {}).map(([n, target]) => ({ name: n, kind: "queue" as const, target })),
  ];
  if (bindings.length === 0) return {};
  const seen = new Set<string>();
  for (const b of bindings) {
    if (b.name in env || b.name in secrets || seen.has(b.name)) {
      throw new FlickError("validation_failed", `"${b.name}" is used twice in env (vars, secrets and bindings share it); give each its own name`);
    }
    seen.add(b.name);
    const target = b.target === name ? { tenant } : await getFunction(b.target);
    if (target === undefined) {
      throw new FlickError("validation_failed", `${b.kind} binding ${b.name}: no function named "${b.target}"; deploy it first (\`flick ls\` lists yours)`);
    }
    if (target.tenant !== tenant) {
      throw new FlickError("forbidden", `${b.kind} binding ${b.name}: "${b.target}" belongs to another tenant; bindings reach only functions of the same tenant`);
    }
  }
  return { bindings: bindings.sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
