import { connectionHelp, connectionOptions, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { table, time } from "./format.ts";

export const tenants: Command = {
  name: "tenants",
  summary: "Create tenants (each gets its own token) and list them. Needs the admin token.",
  usage: "tenants create <name> | tenants ls",
  optionHelp: connectionHelp,
  examples: ["flick tenants create acme", "FLICK_TOKEN=<printed token> flick deploy app.ts"],
  options: connectionOptions,
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
      console.log(table(["TENANT", "CREATED"], list.map((t) => [t.name, time(t.createdAtMs)])));
      return;
    }
    console.error("usage: flick tenants create <name> | flick tenants ls");
    return 2;
  },
};
