/**
 * The node's SQL runners: a few child processes (runner-main.ts) that run tenants' queries,
 * each database always on the same one, so its statements run one at a time in order. A
 * request past its time limit has its runner killed (node:sqlite cannot interrupt a
 * statement) and started again; the requests queued behind it run on the new one.
 *
 * A runner takes its tenants in turn: the next request is the oldest of the next tenant
 * with one waiting, so a tenant with a hundred slow queries queued holds up another
 * tenant's query for one of them at most (each bounded by the time limit), not all.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { FlickError } from "../../errors/index.ts";
import type { RunnerAnswer, RunnerRequest, SqlStatement, StatementResult } from "./runner-protocol.ts";

const runnerEntry = fileURLToPath(new URL(`./runner-main${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));

/** What a request ends as: the runner's answer, or an error of the platform's own. */
interface Pending {
  tenant: string;
  req: RunnerRequest;
  /** Sets what the request may grow its database to, as it is sent (a tenant's share is worked out then, not when it was queued). */
  limit?: () => number;
  resolve(answer: RunnerAnswer): void;
  reject(err: FlickError): void;
}

class Runner {
  private child: ChildProcess | undefined;
  /** Requests waiting, by tenant, in the order the tenants take turns. */
  private readonly queues = new Map<string, Pending[]>();
  private running: (Pending & { timer: NodeJS.Timeout }) | undefined;
  private stopped = false;
  private readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  private start(): ChildProcess {
    const child = fork(runnerEntry, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (answer: RunnerAnswer) => {
      const r = this.running;
      if (r === undefined || r.req.id !== answer.id) return;
      clearTimeout(r.timer);
      this.running = undefined;
      r.resolve(answer);
      this.next();
    });
    child.on("exit", () => {
      if (this.child !== child) return;
      this.child = undefined;
      const r = this.running;
      if (r !== undefined) {
        clearTimeout(r.timer);
        this.running = undefined;
        r.reject(new FlickError("internal", "the SQL runner stopped while running the query; run it again"));
      }
      if (!this.stopped) this.next();
    });
    this.child = child;
    return child;
  }

  send(tenant: string, req: RunnerRequest, limit?: () => number): Promise<RunnerAnswer> {
    if (this.stopped) return Promise.reject(new FlickError("unavailable", "the node is stopping; SQL queries are not taken"));
    return new Promise((resolve, reject) => {
      const p: Pending = { tenant, req, limit, resolve, reject };
      const queue = this.queues.get(tenant);
      if (queue === undefined) this.queues.set(tenant, [p]);
      else queue.push(p);
      if (this.running === undefined) this.next();
    });
  }

  /** The tenant the last request taken was of: another goes first when one waits. */
  private lastTenant = "";

  /** The oldest request of the tenant whose turn it is; that tenant goes to the back of the turns. */
  private take(): Pending | undefined {
    let chosen: [string, Pending[]] | undefined;
    for (const entry of this.queues) {
      chosen ??= entry;
      if (entry[0] !== this.lastTenant) {
        chosen = entry;
        break;
      }
    }
    if (chosen === undefined) return undefined;
    const [tenant, queue] = chosen;
    const p = queue.shift()!;
    this.queues.delete(tenant);
    if (queue.length > 0) this.queues.set(tenant, queue);
    this.lastTenant = tenant;
    return p;
  }

  private next(): void {
    if (this.running !== undefined || this.stopped) return;
    const p = this.take();
    if (p === undefined) return;
    const child = this.child ?? this.start();
    const timer = setTimeout(() => {
      // Past its limit: the runner is killed with the query, and started again for the rest.
      if (this.running?.req !== p.req) return;
      this.running = undefined;
      p.reject(new FlickError("timeout", `the query ran over the ${this.timeoutMs / 1000} s limit and was stopped; what it wrote was rolled back. Add an index or a LIMIT, or split the work`));
      this.child = undefined;
      child.kill("SIGKILL");
      this.next();
    }, this.timeoutMs);
    this.running = { ...p, timer };
    if (p.limit !== undefined && p.req.op === "run") p.req.maxBytes = p.limit();
    child.send(p.req);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const queue of this.queues.values()) for (const p of queue) p.reject(new FlickError("unavailable", "the node is stopping"));
    this.queues.clear();
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    }
  }
}

export class SqlRunners {
  private readonly runners: Runner[];
  private nextId = 1;

  constructor(count: number, timeoutMs: number) {
    this.runners = Array.from({ length: Math.max(1, count) }, () => new Runner(timeoutMs));
  }

  private runnerOf(file: string): Runner {
    return this.runners[createHash("sha256").update(file).digest().readUInt32BE(0) % this.runners.length]!;
  }

  /**
   * Runs `statements` on `file`, which may grow to what `limit` says when the runner takes
   * them; a SQL error comes back as `{ error }`, the platform's as a thrown FlickError. With
   * either answer, the database's size after it when the runner read it.
   */
  async run(tenant: string, file: string, limit: () => number, statements: SqlStatement[], transaction: boolean, resultMaxBytes: number): Promise<({ results: StatementResult[] } | { error: NonNullable<RunnerAnswer["error"]> }) & { sizeAfter: number | undefined }> {
    const answer = await this.runnerOf(file).send(tenant, { id: this.nextId++, op: "run", file, maxBytes: 0, statements, transaction, resultMaxBytes }, limit);
    return answer.error !== undefined ? { error: answer.error, sizeAfter: answer.sizeAfter } : { results: answer.results ?? [], sizeAfter: answer.sizeAfter };
  }

  async dump(tenant: string, file: string, maxBytes: number): Promise<string> {
    const answer = await this.runnerOf(file).send(tenant, { id: this.nextId++, op: "dump", file, maxBytes });
    if (answer.error !== undefined) throw new FlickError("internal", `export failed: ${answer.error.message}`);
    return answer.dump ?? "";
  }

  async close(tenant: string, file: string): Promise<void> {
    await this.runnerOf(file).send(tenant, { id: this.nextId++, op: "close", file });
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }
}
