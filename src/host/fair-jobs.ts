/**
 * Work a host runs on Node's thread pool for its instances (crypto.subtle, zlib), shared
 * fairly: at most `slots` jobs run at once (the pool's size, 4 by default), one owner
 * (tenant) never holds more than `slots - 1` of them, and waiting jobs are taken
 * round-robin across owners — so one tenant's thousand PBKDF2 calls leave a slot free for
 * another tenant's digest, which waits at most one job per other tenant ahead of it. A
 * job whose invocation ended while it waited is dropped, never started.
 */
export interface Job {
  /** Whose turn this is: the tenant. */
  owner: string;
  start(): Promise<void>;
  /** False once the invocation that asked for it ended: the job is dropped unstarted. */
  wanted(): boolean;
}

export class FairJobs {
  private readonly slots: number;
  private running = 0;
  private readonly runningBy = new Map<string, number>();
  /** Waiting jobs by owner; the map's order is the round-robin order. */
  private readonly waiting = new Map<string, Job[]>();

  constructor(slots = 4) {
    this.slots = slots;
  }

  get queued(): number {
    let n = 0;
    for (const jobs of this.waiting.values()) n += jobs.length;
    return n;
  }

  run(job: Job): void {
    let jobs = this.waiting.get(job.owner);
    if (jobs === undefined) {
      jobs = [];
      this.waiting.set(job.owner, jobs);
    }
    jobs.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.slots) {
      const job = this.next();
      if (job === undefined) return;
      this.running++;
      this.runningBy.set(job.owner, (this.runningBy.get(job.owner) ?? 0) + 1);
      const done = () => {
        const n = this.runningBy.get(job.owner)! - 1;
        if (n === 0) this.runningBy.delete(job.owner);
        else this.runningBy.set(job.owner, n);
        this.running--;
        this.pump();
      };
      job.start().then(done, done);
    }
  }

  /** The first wanted job of the owner whose turn it is; the owner goes to the back of the line. */
  private next(): Job | undefined {
    const perOwner = Math.max(1, this.slots - 1);
    for (const [owner, jobs] of [...this.waiting]) {
      if ((this.runningBy.get(owner) ?? 0) >= perOwner) continue;
      this.waiting.delete(owner);
      while (jobs.length > 0) {
        const job = jobs.shift()!;
        if (!job.wanted()) continue;
        if (jobs.length > 0) this.waiting.set(owner, jobs);
        return job;
      }
    }
    return undefined;
  }
}
