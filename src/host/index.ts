export { Supervisor, type InvokeResult, type InvokeSink, type SupervisorOptions } from "./supervisor.ts";
export type { BindingSpec, Call, CallResult, ClientGone, InstanceSpec, WireLogLine, WireRequest } from "./protocol.ts";
export { checkRuntime, versionAtLeast } from "./check-runtime.ts";
export { EgressPolicy } from "./egress-policy.ts";
export { fetchLimits } from "./instance.ts";
