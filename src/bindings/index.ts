// Binding kinds, one folder each (docs/bindings.md). Each side of the platform imports its
// own registry, so none loads another's code: this entry is the kinds' settings (the CLI,
// the API, deploys); host.ts is the worker host's, platform.ts the node's, guest.ts the
// isolate's.
export { bindingApiKeys, bindingSettings, type BindingApiKey, type BindingSettings } from "./settings.ts";
export type { BindingAnswer, BindingCallContext, BindingHost } from "./host-types.ts";
export type { BindingPlatform, BindingPlatformKind, NodeServices, ServedResponse } from "./platform-types.ts";
export { kvNamespacePattern } from "./kv/settings.ts";
export { kvContract } from "./kv/contract.ts";
export { sqlDatabasePattern } from "./sql/settings.ts";
