import type { TenantInfo, TenantUpdateRequest } from "../api/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { bytes, table, time } from "./format.ts";
import { parseInteger } from "./parse.ts";

export const tenants: Command = {
  name: "tenants",
  summary: "Create tenants (each gets its own token), list them, set their limits (the admin token); see what one stores against its quotas.",
  usage:
    "tenants create <name> | tenants ls | tenants storage [<name>] | tenants set <name> [--concurrency N|default] [--max-provisioned N|default] [--max-provisioned-memory MIB|default] [--max-queue-messages N|default] [--max-queue-mib MIB|default]",
  optionHelp: [
    "--concurrency N     requests in flight the tenant may have (beyond: 429 tenant_limit); default: the node's",
    "--max-provisioned N provisioned instances it may reserve, the sum of --min-instances over its",
    "                    functions (beyond: 403 quota_exceeded); default: the node's (flick up, 50)",
    "--max-provisioned-memory MIB  provisioned memory it may reserve, the sum of --min-instances ×",
    "                    --memory (beyond: 403 quota_exceeded); default: the node's (flick up, 2048)",
    "--max-queue-messages N  async messages queued or running it may have (beyond: 429 queue_full);",
    "                    default: the node's (flick up --tenant-queue-messages, 100000)",
    "--max-queue-mib MIB their payload (beyond: 429 queue_full); default: the node's (flick up --tenant-queue-mib, 256)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: [
    "flick tenants create acme",
    "FLICK_TOKEN=<printed token> flick deploy app.ts",
    "flick tenants set acme --concurrency 50",
    "flick tenants storage acme        # KV, SQL and durable objects against its quotas (a tenant token: its own)",
    "flick tenants set acme --max-provisioned 100 --max-provisioned-memory 8192",
  ],
  options: {
    ...connectionOptions, ...jsonOption, concurrency: { type: "string" }, "max-provisioned": { type: "string" }, "max-provisioned-memory": { type: "string" },
    "max-queue-messages": { type: "string" }, "max-queue-mib": { type: "string" },
  },
  positionals: { min: 1, max: 2 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const [action, name] = positionals;
    if (action === "create" && name !== undefined) {
      const created = await client.createTenant(name);
      if (values["json"] === true) return void printJson(created);
      console.log(`tenant ${created.tenant} created; its token (shown once, keep it safe):`);
      console.log(created.token);
      return;
    }
    if (action === "ls" && name === undefined) {
      const list = await client.listTenants();
      if (values["json"] === true) return void printJson(list);
      console.log(table(
        ["TENANT", "CONCURRENCY", "CREATED", "PROVISIONED", "PROVISIONED MEMORY"],
        list.map((t) => [
          t.name, t.concurrency === null || t.concurrency === undefined ? "default" : String(t.concurrency), time(t.createdAtMs),
          t.provisioned === undefined ? "-" : `${t.provisioned.instances}/${t.provisioned.maxInstances}`,
          t.provisioned === undefined ? "-" : `${t.provisioned.memoryMiB}/${t.provisioned.maxMemoryMiB} MiB`,
        ]),
      ));
      return;
    }
    if (action === "storage") {
      const tenant = name ?? (await client.whoami()).tenant ?? "default";
      const storage = await client.tenantStorage(tenant);
      if (values["json"] === true) return void printJson(storage);
      console.log(`tenant ${storage.tenant}, as node ${storage.node} counts it:`);
      console.log(table(
        ["KIND", "STORED", "QUOTA", "USED", "COUNTED"],
        storage.kinds.map((k) => [
          storageKinds[k.kind] ?? k.kind, bytes(k.bytes), bytes(k.quotaBytes), `${((100 * k.bytes) / Math.max(1, k.quotaBytes)).toFixed(1)}%`,
          k.scope === "node" ? "on this node" : "cluster-wide",
        ]),
      ));
      return;
    }
    const change: TenantUpdateRequest = {};
    const setting = (flag: string, key: keyof TenantUpdateRequest) => {
      const raw = values[flag] as string | undefined;
      if (raw !== undefined) change[key] = raw === "default" ? null : parseInteger(raw, `--${flag}`);
    };
    setting("concurrency", "concurrency");
    setting("max-provisioned", "maxProvisioned");
    setting("max-provisioned-memory", "maxProvisionedMemoryMiB");
    setting("max-queue-messages", "maxQueueMessages");
    setting("max-queue-mib", "maxQueueMiB");
    if (action === "set" && name !== undefined && Object.keys(change).length > 0) {
      const updated = await client.updateTenant(name, change);
      if (values["json"] === true) return void printJson(updated);
      console.log(limitsLine(updated));
      return;
    }
    console.error(
      "usage: flick tenants create <name> | flick tenants ls | flick tenants storage [<name>] | flick tenants set <name> [--concurrency N|default] [--max-provisioned N|default] [--max-provisioned-memory MIB|default] [--max-queue-messages N|default] [--max-queue-mib MIB|default]",
    );
    return 2;
  },
};

/** How `flick tenants storage` names each binding kind (flick up's flag for its quota in brackets). */
const storageKinds: Record<string, string> = {
  kv: "KV (--tenant-kv-mib)",
  sql: "SQL databases (--tenant-sql-mib)",
  do: "durable objects (--tenant-do-mib)",
};

/** "tenant acme: concurrency default, max-provisioned 10 (2 used), max-provisioned-memory default 2048 MiB (256 MiB used)" */
function limitsLine(t: TenantInfo): string {
  const own = (v: number | null | undefined, effective: number | undefined, unit = "") =>
    v === null || v === undefined ? `default${effective === undefined ? "" : ` ${effective}${unit}`}` : `${v}${unit}`;
  const p = t.provisioned;
  return [
    `tenant ${t.name}: concurrency ${own(t.concurrency, undefined)}`,
    `max-provisioned ${own(t.maxProvisioned, p?.maxInstances)}${p === undefined ? "" : ` (${p.instances} used)`}`,
    `max-provisioned-memory ${own(t.maxProvisionedMemoryMiB, p?.maxMemoryMiB, " MiB")}${p === undefined ? "" : ` (${p.memoryMiB} MiB used)`}`,
    `max-queue-messages ${own(t.maxQueueMessages, undefined)}`,
    `max-queue-mib ${own(t.maxQueueMiB, undefined, " MiB")}`,
  ].join(", ");
}
