/** How a CLI command is declared: its flags (util.parseArgs), help text, and what it does. */
import type { ParseArgsOptionsConfig } from "node:util";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Lines printed under "Options:", already formatted. */
  optionHelp: string[];
  examples: string[];
  options: ParseArgsOptionsConfig;
  /** Number of positional arguments required / allowed. */
  positionals: { min: number; max: number };
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<number | void>;
}

/** Flags every command that talks to a node accepts. */
export const connectionOptions: ParseArgsOptionsConfig = {
  url: { type: "string" },
  token: { type: "string" },
  "data-dir": { type: "string" },
};

/** `--json`: print what the API answered, as JSON, instead of text (for scripts). */
export const jsonOption: ParseArgsOptionsConfig = { json: { type: "boolean" } };
export const jsonHelp = "--json              print the API's answer as JSON instead of text";

/** Prints `value` as JSON (pretty; one value per command, or one per line for streams). */
export function printJson(value: unknown, oneLine = false): void {
  console.log(oneLine ? JSON.stringify(value) : JSON.stringify(value, null, 2));
}

export const connectionHelp = [
  "--url URL           node to talk to (default: FLICK_URL, then <data-dir>/node.json)",
  "--token TOKEN       API token (default: FLICK_TOKEN, then <data-dir>/admin.token)",
  "--data-dir DIR      local node's data dir (default: ./.flick)",
];

export function helpOf(command: Command): string {
  return [
    `${command.summary}`,
    "",
    `Usage: flick ${command.usage}`,
    "",
    "Options:",
    ...command.optionHelp.map((l) => `  ${l}`),
    "  -h, --help          show this help",
    "",
    "Examples:",
    ...command.examples.map((l) => `  ${l}`),
    "",
  ].join("\n");
}
