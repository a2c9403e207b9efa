/**
 * `flick dev`: the function on a node of its own — same runtime, same limits, the config's
 * settings, local secrets — started in this process with its data in `<project>/.flick-dev`.
 * It never talks to the node FLICK_URL or ./.flick point at, so a live function is never
 * touched. Saving a file redeploys; lines on stdin fire the scheduled and queue handlers.
 */
import { existsSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { FlickError } from "../errors/index.ts";
import type { LogLine } from "../model/index.ts";
import type { Command } from "./command.ts";
import { nodeFile } from "./config.ts";
import { bundled, planDeploy, settingHelp, settingOptions, wasiHelp, wasiOptions, type DeployPlan } from "./deploy.ts";
import { bytes, logLine } from "./format.ts";
import { parseInteger } from "./parse.ts";

export const devSecretsFile = ".dev.secrets";
export const devDataDir = ".flick-dev";

/**
 * Local secrets: `NAME=value` lines (dotenv style; `#` comments, blank lines, optional
 * quotes around the value). The file is meant to stay out of git (`flick init` lists it in
 * .gitignore); errors name its line.
 */
export function readSecretsFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const secrets: Record<string, string> = {};
  readFileSync(file, "utf8").split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (match === null) throw new FlickError("bad_request", `${file}:${index + 1}: expected NAME=value (names are letters, digits and _)`);
    const value = match[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    secrets[match[1]!] = quoted === null ? value : quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"') : quoted[2]!;
  });
  return secrets;
}

const keysHelp = "r + Enter: redeploy · s: run the scheduled handler · q <text>: send the queue handler a message · Ctrl-C: stop";

export const dev: Command = {
  name: "dev",
  summary: "Run a function on a local node of its own, redeploying on save (the live function is never touched).",
  usage: "dev [entry.ts|.js|.wasm] [--port 8787] [--secrets-file .dev.secrets] [deploy options]",
  optionHelp: [
    "--port N            port of the local node (default 8787; 0 = any free port)",
    `--secrets-file F    local secrets, NAME=value lines (default: ${devSecretsFile} beside flick.toml or the entry; keep it out of git)`,
    ...settingHelp,
    ...wasiHelp,
    `A .wasm entry (a WASI program or an HTTP component) is deployed again when the file changes: rebuild it`,
    `in another terminal (cargo build, make, asc …) and the next request runs the new build.`,
    `The node's data lives in ${devDataDir}/ beside flick.toml (or the entry); other commands reach it with`,
    `--data-dir ${devDataDir}. On stdin: ${keysHelp}.`,
  ],
  examples: ["flick dev", "flick dev examples/json-api.ts --port 0", "echo s | flick dev   (deploy, then run the scheduled handler once)"],
  options: { ...settingOptions, ...wasiOptions, port: { type: "string" }, "secrets-file": { type: "string" } },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals }) {
    // Ctrl-C from the first moment stops the node cleanly, even during start-up.
    const stopRequested = new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    const first = await planDeploy(values, positionals);
    const projectDir = path.dirname(first.config?.file ?? first.entry);
    const secretsFile = path.resolve((values["secrets-file"] as string | undefined) ?? path.join(projectDir, devSecretsFile));
    const dataDir = path.join(projectDir, devDataDir);
    // Loaded here: only `up` and `dev` start a node.
    const { startNode } = await import("../node/index.ts");
    const node = await startNode({
      dataDir,
      port: values["port"] === undefined ? 8787 : parseInteger(values["port"] as string, "--port", { min: 0, max: 65535 }),
      host: "127.0.0.1",
      hosts: 1,
      accessLog: "text",
    });
    const info = path.join(dataDir, nodeFile);
    writeFileSync(info, `${JSON.stringify({ url: node.url, pid: process.pid })}\n`);
    const admin = { role: "admin" } as const;
    const name = first.name;
    console.log(`flick dev: ${name} on a local node of its own (nothing live is touched)`);
    console.log(`  url       ${node.url}/fn/${name}`);
    console.log(`  data dir  ${dataDir}`);
    console.log(`  secrets   ${existsSync(secretsFile) ? secretsFile : `none (${path.relative(process.cwd(), secretsFile) || secretsFile} holds NAME=value lines)`}`);
    console.log(`  keys      ${keysHelp}`);

    // One deploy at a time; a save during one asks for another after it.
    let deploying: Promise<void> | undefined;
    let again = false;
    const deployNow = async (): Promise<void> => {
      let plan: DeployPlan = first;
      try {
        plan = await planDeploy(values, positionals);
        if (plan.name !== name) console.error(`note: the name changed to "${plan.name}"; restart flick dev to follow it (still serving "${name}")`);
        const request = await bundled(plan);
        const secrets = readSecretsFile(secretsFile);
        // The local secrets are the whole of the dev function's secrets: a name removed from the file is gone.
        request.unset = [...(request.unset ?? []), "secrets"];
        request.secrets = { ...secrets, ...request.secrets };
        request.origin = { ...Object.fromEntries(Object.keys(secrets).map((k) => [`secrets.${k}`, path.basename(secretsFile)])), ...request.origin };
        const result = await node.platform.deploy(admin, name, request);
        if (plan.scale !== undefined && Object.keys(plan.scale).length > 0) await node.platform.scale(admin, name, plan.scale);
        console.log(`${name}: ${result.changed ? "deployed" : "unchanged"} version ${result.version} (${bytes(Buffer.byteLength(request.code ?? ""))})`);
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
      }
    };
    const redeploy = (): Promise<void> => {
      if (deploying !== undefined) {
        again = true;
        return deploying;
      }
      deploying = (async () => {
        do {
          again = false;
          await deployNow();
        } while (again);
        deploying = undefined;
      })();
      return deploying;
    };
    await redeploy();

    const stopFollowing = await node.platform.followLogs(admin, { function: name }, (lines: LogLine[]) => {
      for (const line of lines) console.log(logLine(line));
    }).catch(() => () => {});
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(projectDir, { recursive: true }, (_event, file) => {
      if (file !== null && /(^|[\\/])(node_modules|\.git|\.flick|\.flick-dev)([\\/]|$)/.test(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void redeploy(), 100);
    });
    console.log(`watching ${projectDir}`);

    const input = createInterface({ input: process.stdin, terminal: false });
    input.on("line", (raw) => {
      const line = raw.trim();
      const fire = (kind: "scheduled" | "queue", body: string) =>
        node.platform.fire(admin, name, kind, body).then(
          (queued) => console.log(`${kind}: queued ${queued.id}`),
          (err: Error) => console.error(`error: ${err.message}`),
        );
      if (line === "r") void redeploy();
      else if (line === "s") void fire("scheduled", "");
      else if (line === "q" || line.startsWith("q ")) void fire("queue", line.slice(2));
      else if (line !== "") console.error(`unknown key "${line}": ${keysHelp}`);
    });

    await stopRequested;
    console.log("Stopping…");
    input.close();
    watcher.close();
    clearTimeout(timer);
    stopFollowing();
    await deploying;
    await node.stop();
    rmSync(info, { force: true });
  },
};
