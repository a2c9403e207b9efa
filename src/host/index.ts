export { Supervisor, type InvokeResult, type SupervisorOptions } from "./supervisor.ts";
export type { InstanceSpec, Outcome, WireLogLine, WireRequest, WireResponse } from "./protocol.ts";
export { checkRuntime, versionAtLeast } from "./check-runtime.ts";
export { EgressPolicy } from "./egress-policy.ts";
export { fetchLimits } from "./instance.ts";
