/** `flick invocation <id>`, `flick invocations <name>` and `flick dlq ls|replay`: how async invocations went, and the dead-letter list. */
import type { InvocationInfo } from "../api/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { table, time } from "./format.ts";
import { parseInteger } from "./parse.ts";

function payloadText(inv: InvocationInfo, max: number): string {
  const text = "text" in inv.payload ? inv.payload.text : `base64:${inv.payload.base64}`;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export const invocation: Command = {
  name: "invocation",
  summary: "Show an async invocation: status, attempts, times, result or last error.",
  usage: "invocation <id> [--json]",
  optionHelp: ["--json              print the API's JSON", ...connectionHelp],
  examples: ["flick invocation 0b6f2a1e-…"],
  options: { ...connectionOptions, json: { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const inv = await clientFor(resolveConnection(values as never)).getInvocation(positionals[0]!);
    if (values["json"] === true) {
      console.log(JSON.stringify(inv, null, 2));
      return;
    }
    const rows: [string, string][] = [
      ["id", inv.id],
      ["function", inv.function],
      ["status", inv.deadReason === null ? inv.status : `${inv.status} (${inv.deadReason})`],
      ["attempts", `${inv.attempts} (${inv.failures} failed)`],
      ["created", time(inv.createdAtMs)],
      ["updated", time(inv.updatedAtMs)],
    ];
    if (inv.nextAtMs !== null) rows.push(["next attempt", time(inv.nextAtMs)]);
    if (inv.idempotencyKey !== null) rows.push(["idempotency key", inv.idempotencyKey]);
    rows.push(["payload", payloadText(inv, 200)]);
    if (inv.result !== null) rows.push(["result", `${inv.result.status} ${inv.result.body}${inv.result.truncated ? "… (cut at 64 KiB)" : ""}`]);
    if (inv.lastError !== null) rows.push(["last error", `${inv.lastError.code}: ${inv.lastError.message}`]);
    for (const [k, v] of rows) console.log(`${k.padEnd(16)} ${v}`);
  },
};

export const invocations: Command = {
  name: "invocations",
  summary: "List a function's latest async invocations (API, queue, cron): status, attempts, result or error.",
  usage: "invocations <name> [--status queued|running|completed|dead] [--limit N] [--json]",
  optionHelp: [
    "--status S          only those with this status",
    "--limit N           how many, most recently changed first (default 100, at most 1000)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: ["flick invocations resize", "flick invocations resize --status queued --limit 20"],
  options: { ...connectionOptions, ...jsonOption, status: { type: "string" }, limit: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const name = positionals[0]!;
    const limit = values["limit"] === undefined ? undefined : parseInteger(values["limit"] as string, "--limit", { min: 1, max: 1000 });
    const status = values["status"] as string | undefined;
    const list = await clientFor(resolveConnection(values as never)).listInvocations(name, {
      ...(status === undefined ? {} : { status }),
      ...(limit === undefined ? {} : { limit }),
    });
    if (values["json"] === true) return void printJson(list);
    if (list.length === 0) {
      console.log(`${name}: no async invocations${status === undefined ? "" : ` ${status}`} (completed ones are kept a day, dead ones 14 days)`);
      return;
    }
    console.log(table(["ID", "KIND", "STATUS", "ATTEMPTS", "UPDATED", "RESULT", "PAYLOAD"], list.map((i) => [
      i.id, i.kind, i.deadReason === null ? i.status : `${i.status} (${i.deadReason})`, `${i.attempts} (${i.failures} failed)`, time(i.updatedAtMs),
      i.result !== null ? `${i.result.status} ${i.result.body.slice(0, 40)}` : i.lastError !== null ? `${i.lastError.code}: ${i.lastError.message.slice(0, 50)}` : "", payloadText(i, 30),
    ])));
  },
};

export const dlq: Command = {
  name: "dlq",
  summary: "The dead-letter list of a function's async invocations: list them, or run them again.",
  usage: "dlq ls <name> [--limit N] | dlq replay <name> [id…]",
  optionHelp: ["--limit N           how many to list, newest first (default 100)", jsonHelp, ...connectionHelp],
  examples: ["flick dlq ls resize", "flick dlq replay resize", "flick dlq replay resize 0b6f2a1e-…"],
  options: { ...connectionOptions, ...jsonOption, limit: { type: "string" } },
  positionals: { min: 2, max: 10_002 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const [action, name, ...ids] = positionals;
    if (action === "ls" && ids.length === 0) {
      const limit = values["limit"] === undefined ? undefined : parseInteger(values["limit"] as string, "--limit");
      const dead = await client.listDead(name!, limit);
      if (values["json"] === true) return void printJson(dead);
      if (dead.length === 0) {
        console.log(`${name}: the dead-letter list is empty`);
        return;
      }
      console.log(table(["ID", "REASON", "ATTEMPTS", "DEAD SINCE", "LAST ERROR", "PAYLOAD"], dead.map((d) => [
        d.id, d.deadReason ?? "", String(d.attempts), time(d.updatedAtMs), d.lastError === null ? "" : `${d.lastError.code}: ${d.lastError.message.slice(0, 60)}`, payloadText(d, 40),
      ])));
      return;
    }
    if (action === "replay") {
      const replayed = await client.replayDead(name!, ids.length === 0 ? undefined : ids);
      const missing = ids.filter((id) => !replayed.includes(id));
      if (values["json"] === true) {
        printJson({ replayed, missing });
        return missing.length > 0 ? 1 : 0;
      }
      console.log(`${name}: ${replayed.length} invocation(s) queued again`);
      if (missing.length > 0) {
        console.error(`not in ${name}'s dead-letter list (ids from \`flick dlq ls ${name}\`): ${missing.join(", ")}`);
        return 1;
      }
      return;
    }
    console.error("usage: flick dlq ls <name> [--limit N] | flick dlq replay <name> [id…]");
    return 2;
  },
};
