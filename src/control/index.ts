export { Scheduler, schedulerDefaults, type Placement, type SchedulerOptions } from "./scheduler.ts";
