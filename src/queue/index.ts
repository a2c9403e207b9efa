export { AsyncQueue, defaultQueueQuota, type Submission } from "./async-queue.ts";
export { hopsOfSend } from "./hops.ts";
export { defaultBackoff, type AttemptOutcome, type RetrySettings } from "./retry-policy.ts";
export { CronError, parseCron } from "./cron.ts";
export { CronRunner, type CronTrigger } from "./cron-runner.ts";
