/** `flick sim`'s parts: workloads (a trace, or the seeded generator), the replay, and its chart. */
export { readAzureTrace } from "./azure-trace.ts";
export { renderChart } from "./chart.ts";
export { defaultShards, simulateSharded, workloadOf, type WorkloadSource } from "./parallel.ts";
export { policyName, simSummary, simulate, type SimOptions, type SimResult } from "./simulate.ts";
export { syntheticWorkload } from "./synthetic.ts";
export { arrivalBatch, type ArrivalBatch, type Shard, type SimFunction, type Workload } from "./workload.ts";
