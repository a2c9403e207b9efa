import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { deployExamples, startNode } from "../node/index.ts";
import { connectionOptions, type Command } from "./command.ts";
import { defaultDataDir, nodeFile } from "./config.ts";
import { parseDuration, parseInteger } from "./parse.ts";

export const up: Command = {
  name: "up",
  summary: "Start a Flick node on this machine (state in SQLite under the data dir).",
  usage: "up [--port 8080] [--data-dir ./.flick] [--hosts N] [--examples]",
  optionHelp: [
    "--port N            HTTP port for functions and the API (default 8080; 0 = any free port)",
    "--host ADDR         address to listen on (default 127.0.0.1)",
    "--data-dir DIR      where state lives (default ./.flick)",
    "--hosts N           worker host processes (default: number of cores)",
    "--concurrency N     requests one instance serves at once before another starts (default 16)",
    "--idle-ttl DUR      stop an instance idle this long (default 10m)",
    "--egress-allow LIST let functions fetch these addresses, CIDR ranges or host names,",
    "                    comma-separated (default: loopback, private and metadata ranges are denied)",
    "--examples          deploy the functions in examples/ once started",
  ],
  examples: ["flick up", "flick up --port 0 --data-dir /tmp/flick --examples"],
  options: {
    ...connectionOptions,
    port: { type: "string" },
    host: { type: "string" },
    hosts: { type: "string" },
    concurrency: { type: "string" },
    "idle-ttl": { type: "string" },
    examples: { type: "boolean" },
    "egress-allow": { type: "string", multiple: true },
  },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const dataDir = path.resolve((values["data-dir"] as string | undefined) ?? process.env["FLICK_DATA_DIR"] ?? defaultDataDir);
    const node = await startNode({
      dataDir,
      port: values["port"] === undefined ? 8080 : parseInteger(values["port"] as string, "--port"),
      host: (values["host"] as string | undefined) ?? "127.0.0.1",
      ...(values["hosts"] === undefined ? {} : { hosts: parseInteger(values["hosts"] as string, "--hosts") }),
      ...(values["concurrency"] === undefined ? {} : { concurrency: parseInteger(values["concurrency"] as string, "--concurrency") }),
      ...(values["idle-ttl"] === undefined ? {} : { idleTtlMs: parseDuration(values["idle-ttl"] as string, "--idle-ttl") }),
      egressAllow: ((values["egress-allow"] as string[] | undefined) ?? []).flatMap((v) => v.split(",")).filter((v) => v.trim() !== ""),
    });
    const info = path.join(dataDir, nodeFile);
    writeFileSync(info, `${JSON.stringify({ url: node.url, pid: process.pid })}\n`);
    console.log(`Flick is up at ${node.url}`);
    console.log(`  data dir     ${dataDir}`);
    console.log(`  admin token  ${path.join(dataDir, "admin.token")} (the CLI on this machine uses it)`);
    console.log(`  hosts        ${node.supervisor.size} worker host processes`);
    if (values["examples"] === true) {
      const names = await deployExamples(node.platform);
      for (const name of names) console.log(`  example      ${node.url}/fn/${name}`);
    }
    console.log("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    console.log("Stopping…");
    await node.stop();
    rmSync(info, { force: true });
  },
};
