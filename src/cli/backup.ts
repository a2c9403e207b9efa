/**
 * `flick backup` and `flick restore`: a data dir's state, copied while the node runs, into
 * a folder that is itself a data dir; and back into a data dir no node is using
 * (node/backup.ts says what is copied and why it is consistent). docs/operations.md.
 */
import * as path from "node:path";
import { jsonOption, printJson, type Command } from "./command.ts";
import { defaultDataDir } from "./config.ts";
import { bytes } from "./format.ts";

export const backup: Command = {
  name: "backup",
  summary: "Copy a node's state (functions, versions, secrets' key, tenants, queue) into a new folder, while it runs.",
  usage: "backup <dir> [--data-dir ./.flick]",
  optionHelp: ["--data-dir DIR      the node's data dir (default: FLICK_DATA_DIR, then ./.flick)", "--json              print {dir, databases, bundles, bytes} as JSON"],
  examples: ["flick backup /var/backups/flick-$(date +%F)", "flick up --data-dir /var/backups/flick-2026-12-06   (a backup is a data dir)"],
  options: { "data-dir": { type: "string" }, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const dataDir = path.resolve((values["data-dir"] as string | undefined) ?? process.env["FLICK_DATA_DIR"] ?? defaultDataDir);
    const { backupDataDir } = await import("../node/index.ts");
    const summary = await backupDataDir(dataDir, path.resolve(positionals[0]!));
    if (values["json"] === true) return void printJson(summary);
    console.log(`backed up ${dataDir} into ${summary.dir}: ${summary.databases.join(", ")}, ${summary.bundles} bundles, ${bytes(summary.bytes)}`);
    console.log("It holds the node's secret key: keep it as private as the data dir.");
  },
};

export const restore: Command = {
  name: "restore",
  summary: "Copy a backup into a new data dir (no node may be running on it); then flick up --data-dir.",
  usage: "restore <backup-dir> --data-dir <new-dir>",
  optionHelp: ["--data-dir DIR      where to restore it: a new or empty folder (required)", "--json              print {dir, databases, bundles, bytes} as JSON"],
  examples: ["flick restore /var/backups/flick-2026-12-06 --data-dir /var/lib/flick && flick up --data-dir /var/lib/flick"],
  options: { "data-dir": { type: "string" }, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    if (values["data-dir"] === undefined) {
      process.stderr.write("flick restore: --data-dir is required (a new or empty folder to restore into)\n");
      return 2;
    }
    const { restoreDataDir } = await import("../node/index.ts");
    const target = path.resolve(values["data-dir"] as string);
    const summary = await restoreDataDir(path.resolve(positionals[0]!), target);
    if (values["json"] === true) return void printJson(summary);
    console.log(`restored ${summary.databases.join(", ")} and ${summary.bundles} bundles into ${target}; start it with: flick up --data-dir ${target}`);
  },
};
