/**
 * `flick usage`'s sums: the store's (tenant, function, hour) rows added up by function,
 * by hour or by tenant, with a total. Hours are whole, so `since` counts from the start of
 * its hour.
 */
import type { UsageAnswer, UsageLine, UsageRequest } from "../api/index.ts";
import type { UsageRow } from "../model/index.ts";
import { addUsage } from "../store/index.ts";

const mibMsPerGbSecond = 1024 * 1000;

function zero(): Omit<UsageLine, "tenant" | "function" | "hourMs"> {
  return { invocations: 0, wallMs: 0, cpuMs: 0, mibMs: 0, gbSeconds: 0, requestBytes: 0, responseBytes: 0, egressBytes: 0 };
}

function add(into: Omit<UsageLine, "tenant" | "function" | "hourMs">, row: UsageRow): void {
  addUsage(into, row);
  into.gbSeconds = into.mibMs / mibMsPerGbSecond;
}

export function summarizeUsage(rows: readonly UsageRow[], query: UsageRequest): UsageAnswer {
  const lines = new Map<string, UsageLine>();
  const total = zero();
  for (const row of rows) {
    const key = query.by === "function" ? `${row.tenant}/${row.function}` : query.by === "hour" ? `${row.tenant}|${row.hourMs}` : row.tenant;
    let line = lines.get(key);
    if (line === undefined) {
      line = {
        tenant: row.tenant,
        ...(query.by === "function" ? { function: row.function } : {}),
        ...(query.by === "hour" ? { hourMs: row.hourMs } : {}),
        ...zero(),
      };
      lines.set(key, line);
    }
    add(line, row);
    add(total, row);
  }
  return { sinceMs: query.sinceMs, untilMs: query.untilMs, by: query.by, lines: [...lines.values()], total };
}
