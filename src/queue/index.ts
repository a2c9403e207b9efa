export { AsyncQueue, type AsyncQueueOptions, type Submission } from "./async-queue.ts";
export { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
export { GroupCommit } from "./group-commit.ts";
export { backoffMs, decide, defaultBackoff, type AttemptOutcome, type Backoff, type RetrySettings } from "./retry-policy.ts";
export { checkTimeZone, CronError, nextRun, nextRuns, parseCron, type CronSchedule } from "./cron.ts";
export { CronRunner, dueRuns, lateToleranceMs, type CronTrigger, type MissedPolicy } from "./cron-runner.ts";
