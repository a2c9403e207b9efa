export { NodeMetrics, type InvocationCounts, type MetricsSource } from "./metrics.ts";
