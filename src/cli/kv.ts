/**
 * `flick kv`: a tenant's KV namespaces and their keys — create, list, read, write, delete,
 * and bulk-load from Cloudflare's JSON format. Functions reach a namespace through
 * `--kv-binding NAME=NS`; this command is for people and scripts.
 */
import { readFileSync } from "node:fs";
import { FlickError } from "../errors/index.ts";
import type { KvPutEntry } from "../api/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { bytes, table, time } from "./format.ts";
import { parseInteger } from "./parse.ts";

const usage = "kv create <NS> | kv ls [<NS>] | kv get <NS> <KEY> | kv put <NS> <KEY> [<VALUE>] | kv rm <NS> [<KEY>] | kv bulk <NS> <FILE.json> | kv bulk-delete <NS> <FILE.json>";

/** All of stdin (a value piped in). */
async function stdinBytes(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new FlickError("bad_request", `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FlickError("invalid_json", `${file} is not JSON (${(err as Error).message}); ${what}`);
  }
}

export const kv: Command = {
  name: "kv",
  summary: "KV namespaces of a tenant and their keys: create, list, get, put, delete, bulk load.",
  usage: `${usage}   [--tenant T]`,
  optionHelp: [
    "--prefix P          kv ls NS: only keys starting with P",
    "--limit N           kv ls NS: at most N keys (1-1000, default 1000); the next page's --cursor is printed",
    "--cursor C          kv ls NS: continue a listing",
    "--file F            kv put: the value is the bytes of F (else VALUE, else stdin)",
    "--ttl SECONDS       kv put: the key expires this long from now (at least 60)",
    "--expiration EPOCH  kv put: the key expires at this time, seconds since the epoch",
    "--metadata JSON     kv put: metadata kept with the key (at most 1024 bytes)",
    "--tenant T          admin only: the tenant whose namespaces (default: `default`; kv ls: all)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: [
    "flick kv create SESSIONS",
    "flick deploy app.ts --kv-binding CACHE=SESSIONS",
    "flick kv put SESSIONS user:1 '{\"name\":\"Ada\"}' --ttl 3600",
    "flick kv get SESSIONS user:1",
    "flick kv ls SESSIONS --prefix user:",
    "flick kv bulk SESSIONS seed.json     # [{\"key\":\"k\",\"value\":\"v\",\"expiration_ttl\":3600}, …]",
    "flick kv rm SESSIONS user:1",
  ],
  options: {
    ...connectionOptions, ...jsonOption,
    prefix: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" }, file: { type: "string" },
    ttl: { type: "string" }, expiration: { type: "string" }, metadata: { type: "string" }, tenant: { type: "string" },
  },
  positionals: { min: 1, max: 4 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const tenant = values["tenant"] as string | undefined;
    const json = values["json"] === true;
    const [action, ns, key, value] = positionals;
    const wrong = (): number => {
      console.error(`usage: flick ${usage}`);
      return 2;
    };
    switch (action) {
      case "create": {
        if (ns === undefined || key !== undefined) return wrong();
        const created = await client.kvCreate(ns, tenant);
        if (json) return void printJson(created);
        console.log(`KV namespace ${created.name} created for tenant ${created.tenant}; bind it with --kv-binding NAME=${created.name}`);
        return;
      }
      case "ls": {
        if (key !== undefined) return wrong();
        if (ns === undefined) {
          const list = await client.kvNamespaces(tenant);
          if (json) return void printJson(list);
          if (list.length === 0) return void console.log("no KV namespaces yet; `flick kv create NAME` makes one");
          console.log(table(["NAMESPACE", "TENANT", "KEYS", "SIZE", "CREATED"], list.map((n) => [n.name, n.tenant, String(n.keys), bytes(n.bytes), time(n.createdAtMs)])));
          return;
        }
        const limit = values["limit"] === undefined ? undefined : parseInteger(values["limit"] as string, "--limit");
        const page = await client.kvKeys(ns, {
          ...(values["prefix"] === undefined ? {} : { prefix: values["prefix"] as string }),
          ...(values["cursor"] === undefined ? {} : { cursor: values["cursor"] as string }),
          ...(limit === undefined ? {} : { limit }),
          ...(tenant === undefined ? {} : { tenant }),
        });
        if (json) return void printJson(page);
        for (const k of page.keys) {
          const extra = [k.expiration === undefined ? "" : `expires ${time(k.expiration * 1000)}`, k.metadata === undefined ? "" : `metadata ${JSON.stringify(k.metadata)}`].filter((x) => x !== "");
          console.log(extra.length === 0 ? k.name : `${k.name}  (${extra.join(", ")})`);
        }
        if (!page.list_complete && page.cursor !== undefined) console.error(`more: flick kv ls ${ns} --cursor ${page.cursor}`);
        return;
      }
      case "get": {
        if (ns === undefined || key === undefined || value !== undefined) return wrong();
        const got = await client.kvGet(ns, key, tenant);
        if (json) {
          const text = Buffer.from(got.value).toString("utf8");
          const utf8 = Buffer.from(text, "utf8").equals(Buffer.from(got.value));
          return void printJson({ key, ...(utf8 ? { value: text } : { value: Buffer.from(got.value).toString("base64"), base64: true }), metadata: got.metadata, expiration: got.expiration });
        }
        process.stdout.write(got.value);
        return;
      }
      case "put": {
        if (ns === undefined || key === undefined) return wrong();
        const file = values["file"] as string | undefined;
        if (file !== undefined && value !== undefined) throw new FlickError("bad_request", "give the value as VALUE or --file F, not both");
        let bytesOf: Uint8Array;
        if (value !== undefined) bytesOf = new TextEncoder().encode(value);
        else if (file !== undefined) {
          try {
            bytesOf = new Uint8Array(readFileSync(file));
          } catch (err) {
            throw new FlickError("bad_request", `cannot read ${file}: ${(err as Error).message}`);
          }
        } else if (!process.stdin.isTTY) bytesOf = await stdinBytes();
        else throw new FlickError("bad_request", `no value: give it after the key, as --file F, or on stdin (echo -n v | flick kv put ${ns} ${key})`);
        let metadata: unknown;
        if (values["metadata"] !== undefined) {
          try {
            metadata = JSON.parse(values["metadata"] as string);
          } catch {
            throw new FlickError("bad_request", `--metadata must be JSON, e.g. --metadata '{"owner":"ada"}'`);
          }
        }
        await client.kvPut(ns, key, bytesOf, {
          ...(values["ttl"] === undefined ? {} : { expirationTtl: parseInteger(values["ttl"] as string, "--ttl") }),
          ...(values["expiration"] === undefined ? {} : { expiration: parseInteger(values["expiration"] as string, "--expiration") }),
          ...(metadata === undefined ? {} : { metadata }),
          ...(tenant === undefined ? {} : { tenant }),
        });
        if (json) return void printJson({ written: 1 });
        console.error(`${ns}: ${key} written (${bytesOf.byteLength} bytes)`);
        return;
      }
      case "rm": {
        if (ns === undefined || value !== undefined) return wrong();
        if (key === undefined) {
          await client.kvRemove(ns, tenant);
          if (json) return void printJson({ removed: true });
          console.error(`KV namespace ${ns} removed, with its keys`);
          return;
        }
        await client.kvDelete(ns, key, tenant);
        if (json) return void printJson({ deleted: 1 });
        console.error(`${ns}: ${key} deleted`);
        return;
      }
      case "bulk":
      case "bulk-delete": {
        if (ns === undefined || key === undefined || value !== undefined) return wrong();
        if (action === "bulk") {
          const entries = readJsonFile(key, `expected [{"key": "k", "value": "v"}, …] (optional: "base64", "expiration", "expiration_ttl", "metadata")`);
          if (!Array.isArray(entries)) throw new FlickError("bad_request", `${key}: expected a JSON array of {"key", "value"} objects`);
          const written = await client.kvBulkPut(ns, entries as KvPutEntry[], tenant);
          if (json) return void printJson({ written });
          console.error(`${ns}: ${written} keys written`);
          return;
        }
        const keys = readJsonFile(key, `expected ["key", …]`);
        if (!Array.isArray(keys)) throw new FlickError("bad_request", `${key}: expected a JSON array of keys`);
        const deleted = await client.kvBulkDelete(ns, keys as string[], tenant);
        if (json) return void printJson({ deleted });
        console.error(`${ns}: ${deleted} keys deleted`);
        return;
      }
      default:
        return wrong();
    }
  },
};
