/**
 * `flick secret put|ls|rm`: secrets managed apart from deploys. Each change is a new
 * version (the live code and settings with one secret changed), and deploys keep secrets
 * they do not name, so a redeploy never drops one. Values come from stdin or a prompt that
 * does not echo, never from the command line (shell history, `ps`).
 */
import { existsSync } from "node:fs";
import type { FunctionInfo } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, configFileName, resolveConnection } from "./config.ts";
import { time } from "./format.ts";
import { nameFromEntry } from "./parse.ts";

const usage = "secret put <NAME> | secret ls | secret rm <NAME>   [--name FN] (default: the name in ./flick.toml)";

/** The function the command is about: --name, else the one ./flick.toml (or --config) describes. */
async function functionOf(values: Record<string, unknown>): Promise<string> {
  if (values["name"] !== undefined) return values["name"] as string;
  const file = (values["config"] as string | undefined) ?? configFileName;
  if (values["config"] === undefined && !existsSync(file)) {
    throw new FlickError("bad_request", `which function? give --name FN, or run this beside the function's flick.toml`);
  }
  const { loadProjectConfig } = await import("./project-config.ts");
  const config = loadProjectConfig(file);
  if (config.name !== undefined) return config.name;
  if (config.entry !== undefined) return nameFromEntry(config.entry);
  throw new FlickError("bad_request", `${file}: no name = "…"; add one, or give --name FN`);
}

/** The secret's value: all of stdin when it is piped (one trailing newline dropped), else typed at a prompt that does not echo. */
async function readValue(secret: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const value = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
    if (value === "") throw new FlickError("bad_request", `no value for ${secret} on stdin; pipe one in (printf %s "$VALUE" | flick secret put ${secret}) or run it in a terminal to be asked`);
    return value;
  }
  process.stderr.write(`Value of ${secret} (not shown): `);
  process.stdin.setRawMode(true);
  process.stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (typed: string) => {
      for (const ch of typed) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new FlickError("bad_request", "cancelled; nothing changed"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (err: Error | null) => {
      process.stdin.off("data", onData);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stderr.write("\n");
      if (err !== null) reject(err);
      else resolve(value);
    };
    process.stdin.on("data", onData);
    process.stdin.resume();
  });
}

function checkName(secret: string | undefined): string {
  if (secret === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(secret)) {
    throw new FlickError("bad_request", `secret names are letters, digits and _, not starting with a digit (got ${JSON.stringify(secret ?? "")}); usage: flick ${usage}`);
  }
  return secret;
}

/** "API_KEY  flick secret put, version 3f2a9c0d1e2b4a5c" per secret. */
function secretLines(f: FunctionInfo): string[] {
  return f.settings.secretNames.map((name) => {
    const source = f.sources[`secrets.${name}`];
    return `${name}${source === undefined ? "" : `  (${source.from}, version ${source.version})`}`;
  });
}

export const secret: Command = {
  name: "secret",
  summary: "Set, list and remove a function's secrets; each change is a new version, and deploys keep them.",
  usage,
  optionHelp: [
    "--name FN           the function (default: the name in ./flick.toml)",
    "--config FILE       the settings file to take the name from (default: ./flick.toml)",
    jsonHelp,
    ...connectionHelp,
    "put reads the value from stdin when it is piped, else asks for it without echoing it.",
  ],
  examples: ["flick secret put API_KEY --name api", "printf %s \"$TOKEN\" | flick secret put API_KEY", "flick secret ls", "flick secret rm API_KEY"],
  options: { ...connectionOptions, ...jsonOption, name: { type: "string" }, config: { type: "string" } },
  positionals: { min: 1, max: 2 },
  async run({ values, positionals }) {
    const [action, secretName] = positionals;
    if (action !== "put" && action !== "ls" && action !== "rm") {
      process.stderr.write(`flick secret: expected put, ls or rm, got "${action}"\n\nUsage: flick ${usage}\n`);
      return 2;
    }
    if (action === "ls" && secretName !== undefined) {
      process.stderr.write(`flick secret ls: takes no secret name\n\nUsage: flick ${usage}\n`);
      return 2;
    }
    const fn = await functionOf(values);
    const client = clientFor(resolveConnection(values as never));
    if (action === "ls") {
      const f = await client.getFunction(fn);
      if (values["json"] === true) return void printJson(f.settings.secretNames.map((name) => ({ name, source: f.sources[`secrets.${name}`] ?? null })));
      const lines = secretLines(f);
      console.log(lines.length === 0 ? `${fn}: no secrets (flick secret put NAME adds one)` : lines.join("\n"));
      return;
    }
    const name = checkName(secretName);
    const result = await client.setSecret(fn, name, action === "put" ? await readValue(name) : null);
    if (values["json"] === true) return void printJson(result);
    const what = action === "put" ? "set" : "removed";
    console.log(result.changed ? `${fn}: secret ${name} ${what}; live version is now ${result.version} (${time(Date.now())})` : `${fn}: secret ${name} was already ${action === "put" ? "set to that value" : "absent"}; nothing changed`);
  },
};
