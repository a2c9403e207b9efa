import { connectionHelp, connectionOptions, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { table, time } from "./format.ts";
import { parseInteger } from "./parse.ts";

export const tenants: Command = {
  name: "tenants",
  summary: "Create tenants (each gets its own token), list them, set their limits. Needs the admin token.",
  usage: "tenants create <name> | tenants ls | tenants set <name> --concurrency N|default",
  optionHelp: ["--concurrency N     requests in flight the tenant may have (beyond: 429 tenant_limit); default: the node's", ...connectionHelp],
  examples: ["flick tenants create acme", "FLICK_TOKEN=<printed token> flick deploy app.ts", "flick tenants set acme --concurrency 50"],
  options: { ...connectionOptions, concurrency: { type: "string" } },
  positionals: { min: 1, max: 2 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const [action, name] = positionals;
    if (action === "create" && name !== undefined) {
      const created = await client.createTenant(name);
      console.log(`tenant ${created.tenant} created; its token (shown once, keep it safe):`);
      console.log(created.token);
      return;
    }
    if (action === "ls" && name === undefined) {
      const list = await client.listTenants();
      console.log(table(["TENANT", "CONCURRENCY", "CREATED"], list.map((t) => [t.name, t.concurrency === null || t.concurrency === undefined ? "default" : String(t.concurrency), time(t.createdAtMs)])));
      return;
    }
    if (action === "set" && name !== undefined && values["concurrency"] !== undefined) {
      const raw = values["concurrency"] as string;
      const t = await client.setTenantConcurrency(name, raw === "default" ? null : parseInteger(raw, "--concurrency"));
      console.log(`tenant ${t.name}: concurrency ${t.concurrency ?? "default"}`);
      return;
    }
    console.error("usage: flick tenants create <name> | flick tenants ls | flick tenants set <name> --concurrency N|default");
    return 2;
  },
};
