/**
 * `flick usage`: what functions used, metered per invocation and summed — by function, by
 * hour or by tenant — as a table, CSV or JSON. A tenant's token reads its own usage.
 */
import type { UsageAnswer, UsageLine } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { bytes, table, time } from "./format.ts";
import { parseDuration } from "./parse.ts";

const columns = ["invocations", "wallMs", "cpuMs", "mibMs", "gbSeconds", "requestBytes", "responseBytes", "egressBytes"] as const;

function csv(answer: UsageAnswer): string {
  const key = answer.by === "function" ? "function" : answer.by === "hour" ? "hour" : undefined;
  const head = ["tenant", ...(key === undefined ? [] : [key]), ...columns];
  const cell = (v: string | number) => (typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  const rows = answer.lines.map((l) => [
    l.tenant,
    ...(key === "function" ? [l.function ?? ""] : key === "hour" ? [new Date(l.hourMs ?? 0).toISOString()] : []),
    ...columns.map((c) => l[c]),
  ]);
  return [head, ...rows].map((r) => r.map(cell).join(",")).join("\n");
}

function row(l: Pick<UsageLine, (typeof columns)[number]>): string[] {
  return [String(l.invocations), `${(l.wallMs / 1000).toFixed(3)} s`, `${(l.cpuMs / 1000).toFixed(3)} s`, l.gbSeconds.toFixed(4), bytes(l.requestBytes), bytes(l.responseBytes), bytes(l.egressBytes)];
}

export const usage: Command = {
  name: "usage",
  summary: "Show metered usage (invocations, wall and CPU time, GB-seconds, bytes) by function, hour or tenant.",
  usage: "usage [--since 24h] [--until DUR] [--by function|hour|tenant] [--tenant T] [--csv|--json]",
  optionHelp: [
    "--since DUR         from this long ago (default 24h; counted from the start of that hour)",
    "--until DUR         up to this long ago (default: now)",
    "--by KEY            function (default), hour or tenant",
    "--tenant T          admin only: one tenant's usage (a tenant's token reads its own)",
    "--csv               comma-separated values with a header line, for a spreadsheet or a bill",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: ["flick usage", "flick usage --by hour --since 7d --csv > usage.csv", "flick usage --by tenant --since 30d"],
  options: { ...connectionOptions, ...jsonOption, since: { type: "string" }, until: { type: "string" }, by: { type: "string" }, tenant: { type: "string" }, csv: { type: "boolean" } },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const by = (values["by"] as string | undefined) ?? "function";
    if (by !== "function" && by !== "hour" && by !== "tenant") throw new FlickError("bad_request", `--by ${by}: expected function, hour or tenant`);
    const now = Date.now();
    const sinceMs = now - parseDuration((values["since"] as string | undefined) ?? "24h", "--since");
    const untilMs = values["until"] === undefined ? undefined : now - parseDuration(values["until"] as string, "--until");
    const answer = await clientFor(resolveConnection(values as never)).usage({
      sinceMs, by, ...(untilMs === undefined ? {} : { untilMs }), ...(values["tenant"] === undefined ? {} : { tenant: values["tenant"] as string }),
    });
    if (values["json"] === true) return void printJson(answer);
    if (values["csv"] === true) return void console.log(csv(answer));
    if (answer.lines.length === 0) return void console.log(`No metered invocations since ${time(answer.sinceMs)}.`);
    const key = by === "function" ? ["FUNCTION"] : by === "hour" ? ["HOUR"] : [];
    console.log(table(
      ["TENANT", ...key, "INVOCATIONS", "WALL", "CPU", "GB-S", "REQUEST", "RESPONSE", "EGRESS"],
      [
        ...answer.lines.map((l) => [l.tenant, ...(by === "function" ? [l.function ?? ""] : by === "hour" ? [time(l.hourMs ?? 0)] : []), ...row(l)]),
        ["total", ...key.map(() => ""), ...row(answer.total)],
      ],
    ));
  },
};
