export { DeadlineHeap } from "./deadline-heap.ts";
export {
  IdleTimeHistogram,
  idleSchedule,
  keepAliveDefaults,
  keepAliveWindows,
  type HybridTuning,
  type IdleSchedule,
  type KeepAliveBasis,
  type KeepAliveSpec,
  type KeepAliveWindows,
} from "./keep-alive.ts";
export { placementPolicies, type HostSpec, type Labels, type PlacementPolicy } from "./placement.ts";
export {
  Scheduler,
  schedulerDefaults,
  type AcquireOptions,
  type Acquired,
  type FunctionHandle,
  type FunctionPolicy,
  type InstanceRef,
  type KeepAliveView,
  type SchedulerOptions,
  type ThrottleReason,
  type TickResult,
} from "./scheduler.ts";
export { TenantBudget, type Holder } from "./tenant-budget.ts";
export { eligible, faultDomainLabel, forwardTargets, provisionedShares, type ClusterMember } from "./cluster-placement.ts";
