export { bindingApiKeys, bindingSettings, type BindingApiKey, type BindingSettings } from "./settings.ts";
export { hostBindings } from "./host.ts";
export type { BindingAnswer, BindingCallContext, BindingHost, OutboundTrace } from "./host-types.ts";
