// A function on a schedule: flick deploy examples/cron-report.ts --cron "*/5 * * * *"
// Each run is an async invocation of `scheduled`: retried if it throws, kept in the
// dead-letter list if it keeps failing, logged under its invocation id (`flick logs cron-report`).
interface ScheduledController {
  cron: string;
  scheduledTime: number;
}

export default {
  async scheduled(controller: ScheduledController): Promise<void> {
    console.log(`report for ${new Date(controller.scheduledTime).toISOString()} (cron "${controller.cron}")`);
  },
  fetch(): Response {
    return new Response("This function runs on a schedule; `flick info cron-report` shows the next runs.\n");
  },
};
