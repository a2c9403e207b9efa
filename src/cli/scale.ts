import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { FlickError } from "../errors/index.ts";
import { parseDuration, parseInteger, parseLabels } from "./parse.ts";
import { scaleLine } from "./functions.ts";

/** "fixed:10m", "hybrid" or "node" (back to the node's policy) for --keep-alive. */
function keepAliveOf(text: string): { policy: "fixed"; ttlMs: number } | { policy: "hybrid" } | null {
  if (text === "node") return null;
  if (text === "hybrid") return { policy: "hybrid" };
  if (text.startsWith("fixed:")) return { policy: "fixed", ttlMs: parseDuration(text.slice(6), "--keep-alive fixed:") };
  throw new FlickError("bad_request", `--keep-alive ${text}: expected fixed:<duration> (fixed:10m), hybrid, or node`);
}

export const scale: Command = {
  name: "scale",
  summary: "Set how a function scales: provisioned (always warm) and maximum instances, placement, keep-alive.",
  usage: "scale <name> [--min-instances K] [--max-instances M|none] [--pin k=v,…] [--avoid k=v,…] [--keep-alive fixed:10m|hybrid|node]",
  optionHelp: [
    "--min-instances K   keep K instances warm always (provisioned concurrency); more start on demand",
    "--max-instances M   never more than M instances (beyond: 429 function_limit); 0 stops all execution",
    "                    at once (the kill switch); none removes the cap",
    "--pin K=V,…         run only on hosts with these labels (flick up --labels)",
    "--avoid K=V,…       never run on hosts with these labels",
    "--keep-alive P      fixed:<duration>, hybrid (pre-warm from its idle times), or node (the node's policy)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: ["flick scale api --min-instances 2", "flick scale api --max-instances 0", "flick scale api --max-instances none --keep-alive hybrid"],
  options: {
    ...connectionOptions,
    ...jsonOption,
    "min-instances": { type: "string" },
    "max-instances": { type: "string" },
    pin: { type: "string" },
    avoid: { type: "string" },
    "keep-alive": { type: "string" },
  },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const change: Record<string, unknown> = {};
    if (values["min-instances"] !== undefined) change["minInstances"] = parseInteger(values["min-instances"] as string, "--min-instances");
    if (values["max-instances"] !== undefined) {
      const m = values["max-instances"] as string;
      change["maxInstances"] = m === "none" ? null : parseInteger(m, "--max-instances");
    }
    if (values["pin"] !== undefined) change["pin"] = parseLabels(values["pin"] as string, "--pin");
    if (values["avoid"] !== undefined) change["avoid"] = parseLabels(values["avoid"] as string, "--avoid");
    if (values["keep-alive"] !== undefined) change["keepAlive"] = keepAliveOf(values["keep-alive"] as string);
    const f = await clientFor(resolveConnection(values as never)).scale(positionals[0]!, change);
    if (values["json"] === true) return void printJson(f);
    console.log(`${f.name}: ${scaleLine(f.scale)}`);
  },
};
