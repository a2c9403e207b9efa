/**
 * `flick`: parses the command line, runs one command, and turns errors into a message
 * and an exit code (1 for errors, 2 for usage).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FlickError } from "../errors/index.ts";
import { helpOf, type Command } from "./command.ts";
import { backup, restore } from "./backup.ts";
import { deploy } from "./deploy.ts";
import { dev } from "./dev.ts";
import { info, ls, rm, rollback, versions } from "./functions.ts";
import { trace } from "./trace.ts";
import { init } from "./init.ts";
import { dlq, invocation, invocations } from "./invocations.ts";
import { invoke } from "./invoke.ts";
import { logs, tail } from "./logs.ts";
import { scale } from "./scale.ts";
import { db } from "./db.ts";
import { kv } from "./kv.ts";
import { secret } from "./secret.ts";
import { closest } from "./suggest.ts";
import { nodes } from "./nodes.ts";
import { tenants } from "./tenants.ts";
import { promote, traffic } from "./traffic.ts";
import { types } from "./types.ts";
import { sim } from "./sim.ts";
import { usage } from "./usage.ts";
import { up } from "./up.ts";

export const commands: Command[] = [up, init, deploy, dev, types, invoke, invocation, invocations, dlq, ls, info, versions, rollback, traffic, promote, secret, kv, db, scale, rm, logs, tail, trace, usage, tenants, nodes, backup, restore, sim];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "flick — run Web-standard functions in V8 isolates on your own machines.",
    "",
    "Usage: flick <command> [options]   (flick <command> --help for details; flick --version)",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Getting started:",
    "  flick up --examples &            start a node on :8080 with the examples deployed",
    "  flick deploy examples/hello.ts   deploy (or redeploy) a function",
    "  flick init my-fn && cd my-fn     start a function of your own (flick.toml, src/index.ts, a test)",
    "  curl localhost:8080/fn/hello     call it",
    "",
    "Config: flags, then FLICK_URL / FLICK_TOKEN, then the local data dir (./.flick).",
    "Exit codes: 0 done; 1 failed (the message says what happened and how to fix it; `flick invoke` also when",
    "the platform, not the function, answered with an error); 2 wrong usage (unknown command or flag, a",
    "missing value or argument). --json on any command that prints gives the API's answer as JSON.",
    "",
  ].join("\n");
}

/** `flick --version`: this package's version and the Node.js running it. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return `flick ${pkg.version} (Node.js ${process.version})\n`;
}

/** What was wrong with the flags, in the command's terms, instead of the parser's message. */
function flagProblem(command: Command, err: Error & { code?: string }): string {
  const known = Object.keys(command.options).map((o) => `--${o}`);
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'(-[^']*)'/.exec(err.message)?.[1] ?? "";
    const meant = closest(flag.replace(/=.*$/, ""), known);
    const hint = meant !== undefined ? `; did you mean ${meant}?` : known.length === 0 ? "; it takes none" : `; its flags are ${known.join(", ")}`;
    return `unknown flag ${flag}${hint}`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /--([\w-]+)/.exec(err.message)?.[1];
    if (flag !== undefined && command.options[flag]?.type === "string") return `--${flag} needs a value (--${flag} <value>)`;
    if (flag !== undefined) return `--${flag} takes no value`;
  }
  return err.message;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(version());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    const meant = closest(name, commands.map((c) => c.name));
    process.stderr.write(`flick: unknown command "${name}"${meant === undefined ? "" : `; did you mean "${meant}"?`} (flick --help lists the commands)\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`flick ${name}: ${flagProblem(command, err as Error)} (flick ${name} --help for its usage)\n`);
    return 2;
  }
  if (parsed.values["help"] === true) {
    process.stdout.write(helpOf(command));
    return 0;
  }
  const { min, max } = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    process.stderr.write(`flick ${name}: expected ${min === max ? min : `${min}-${max}`} argument(s), got ${parsed.positionals.length}\n\nUsage: flick ${command.usage}\n`);
    return 2;
  }
  try {
    return (await command.run({ values: parsed.values as never, positionals: parsed.positionals })) ?? 0;
  } catch (err) {
    if (err instanceof FlickError) {
      process.stderr.write(`error: ${err.message}${err.code === "internal" ? "" : ` [${err.code}]`}\n`);
      return 1;
    }
    throw err;
  }
}
