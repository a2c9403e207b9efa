import { functionTarget } from "../settings-target.ts";
/** A service binding's names (../settings.ts): `env.NAME.fetch(request)` calls another function of the tenant directly. */
export const serviceSettings = {
  kind: "service",
  apiKey: "serviceBindings",
  flag: "service-binding",
  table: "services",
  help: "env.NAME.fetch(request) calls function FN directly (same tenant; repeatable)",
  target: functionTarget,
  typeName: "FlickFetcher",
  typeDeclaration: `/** \`env.NAME.fetch()\` of a service binding: calls the bound function directly, same tenant. */
interface FlickFetcher {
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}`,
} as const;
