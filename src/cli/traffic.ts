/**
 * `flick traffic` and `flick promote`: which versions get a function's requests. With
 * `flick deploy --canary 10%` a new version takes a share while the live one keeps the rest;
 * `flick traffic` sets any split, `flick promote` gives the canary everything, and
 * `flick rollback` ends a split back on the live version. Versions may be given by a
 * unique prefix of their id, as `flick versions` prints them.
 */
import type { FlickClient, FunctionInfo } from "../api/index.ts";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";

/** A version id from a unique prefix (at least 4 hex digits) of one of the function's versions. */
async function versionId(client: FlickClient, name: string, prefix: string): Promise<string> {
  if (!/^[0-9a-f]{4,16}$/.test(prefix)) throw new FlickError("bad_request", `"${prefix}": a version is its id, or a prefix of it of at least 4 hex digits (flick versions ${name})`);
  const matches = (await client.listVersions(name)).filter((v) => v.id.startsWith(prefix));
  if (matches.length === 0) throw new FlickError("version_not_found", `function "${name}" has no version starting ${prefix}; \`flick versions ${name}\` lists them`);
  if (matches.length > 1) throw new FlickError("bad_request", `"${prefix}" starts ${matches.length} versions of ${name} (${matches.map((v) => v.id).join(", ")}); give more digits`);
  return matches[0]!.id;
}

/** "3f2a9c0d1e2b4a5c 90% (live), 0b1c2d3e4f5a6b7c 10%" */
export function trafficLine(f: FunctionInfo): string {
  return f.traffic.map((t) => `${t.version} ${t.percent}%${t.version === f.liveVersion && f.traffic.length > 1 ? " (live)" : ""}`).join(", ");
}

export const traffic: Command = {
  name: "traffic",
  summary: "Show or set how a function's requests split between its versions.",
  usage: "traffic <name> [VERSION=PERCENT]…",
  optionHelp: [
    "VERSION=PERCENT     a version (id or a unique prefix) and its whole share; the shares add up to 100",
    "                    (the largest share is the live version; one version at 100 ends the split)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: ["flick traffic api", "flick traffic api 3f2a=90 0b1c=10", "flick traffic api 0b1c=100"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 5 },
  async run({ values, positionals }) {
    const [name, ...shares] = positionals as [string, ...string[]];
    const client = clientFor(resolveConnection(values as never));
    let f: FunctionInfo;
    if (shares.length === 0) f = await client.getFunction(name);
    else {
      const split: Record<string, number> = {};
      for (const share of shares) {
        const m = /^([^=]+)=(\d{1,3})%?$/.exec(share);
        if (m === null) throw new FlickError("bad_request", `${share}: expected VERSION=PERCENT, e.g. 3f2a=90`);
        split[await versionId(client, name, m[1]!)] = Number(m[2]);
      }
      f = await client.traffic(name, split);
    }
    if (values["json"] === true) return void printJson(f);
    console.log(`${f.name}: ${trafficLine(f)}`);
    if (f.traffic.length > 1) console.log(`  each request draws a version by these shares; the x-flick-version header says which answered`);
  },
};

export const promote: Command = {
  name: "promote",
  summary: "Send every request to one version (default: the canary of a split), ending the split.",
  usage: "promote <name> [VERSION]",
  optionHelp: ["VERSION             id or unique prefix (default: the split's canary)", jsonHelp, ...connectionHelp],
  examples: ["flick deploy --canary 10% && flick promote api", "flick promote api 0b1c"],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 2 },
  async run({ values, positionals }) {
    const [name, version] = positionals as [string, string | undefined];
    const client = clientFor(resolveConnection(values as never));
    const f = await client.promote(name, version === undefined ? undefined : await versionId(client, name, version));
    if (values["json"] === true) return void printJson(f);
    console.log(`${f.name}: every request goes to ${f.liveVersion} now`);
  },
};
