// The worker host: what runs in the processes that hold isolates. Its entry is
// worker-main.ts (forked by node/supervisor.ts); the primary uses these pieces of it.
export type {
  AcquireResult, BindingSpec, Call, CallResult, ClientGone, FromHost, FunctionUsage, InstanceSpec, InstanceUsage, InvocationEnd, RouteInfo,
  ShippedLogLine, ToHost, WireLogLine, WireRequest,
} from "./protocol.ts";
export { streamHighWaterBytes } from "./protocol.ts";
export { MessageBatch } from "./message-batch.ts";
export { checkRuntime, versionAtLeast } from "./check-runtime.ts";
export { EgressPolicy } from "./egress-policy.ts";
export { fetchLimits } from "./invocation-ops.ts";
export { relayHeader } from "./relay.ts";
export type { AccessLogFormat } from "./access-log.ts";
export { durationCounts, outcomeOf } from "./usage.ts";
