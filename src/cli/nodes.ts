import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { table, time } from "./format.ts";

export const nodes: Command = {
  name: "nodes",
  summary: "List the platform's nodes: this one, or every node of its cluster (flick up --cluster). Needs the admin token.",
  usage: "nodes",
  optionHelp: [jsonHelp, ...connectionHelp],
  examples: ["flick nodes", "flick nodes --json"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const list = await clientFor(resolveConnection(values as never)).listNodes();
    if (values["json"] === true) return void printJson(list);
    console.log(table(
      ["NODE", "URL", "LABELS", "HOSTS", "INSTANCES", "BUSY", "UP SINCE"],
      list.map((n) => [
        n.name, n.url, Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-", String(n.capacity.hosts),
        String(n.load.instances), String(n.load.busy), time(n.startedAtMs),
      ]),
    ));
  },
};
