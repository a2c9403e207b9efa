/**
 * A durable-object binding's platform side, in the node. An object is known by its
 * namespace — `<tenant>/<function>/<class>`, the caller's tenant as the node's registry has
 * it and the function whose binding names the class — and its id: another tenant's or
 * another function's objects cannot be named, whatever id a caller makes up.
 *
 * One live instance per object: the node runs an object's requests one at a time, in the
 * order they came, on an instance of its own (`NodeServices.serveObject`). A write answers
 * the object at once and is committed behind it (its reads see it meanwhile, from the
 * object's pending writes); a response leaves only once the writes the object made before
 * it are on disk (the output gate), so no caller ever sees what a crash could take back.
 * The next request starts without waiting for that fsync, and writes of requests close
 * together share one commit. Should a commit fail, the responses waiting on it fail and the
 * object starts again from what is stored (a fresh instance). Alarms are kept with the storage and run by this side: at their time, after a
 * restart too, retried with backoff when `alarm()` throws (6 tries).
 *
 * A tenant's objects may store `--tenant-do-mib` on this node, all together: a write is
 * checked when it is made (`checkQuota`), so a put over the quota rejects and nothing of it
 * is kept. A removed function's objects go with it (`functionRemoved`).
 *
 * In a cluster each object has a home node, named once in JetStream (object-homes.ts); the
 * other nodes send its requests there, so it still has one live instance, and its storage
 * and alarms live on its home.
 */
import { FlickError } from "../../errors/index.ts";
import type { Call, CallResult, WireRequest } from "../../host/protocol.ts";
import { withTraceHeaders } from "../../telemetry/index.ts";
import { result, type BindingPlatform, type BindingPlatformKind, type NodeServices, type ServedResponse, type StorageUse } from "../platform-types.ts";
import { doContract, objectProblem } from "./contract.ts";
import { alarmBytes, DoStorage, entryBytes, tenantOf, type DueAlarm, type ObjectRef } from "./do-storage.ts";
import type { ObjectHomes } from "./object-homes.ts";

export const doLimits = {
  /** Requests waiting for one object; beyond, a stub's fetch fails at once ("overloaded", as in Workers). */
  queuedPerObject: 1000,
  /** Tries of an alarm whose alarm() throws, and the first wait between them (doubling). */
  alarmTries: 6,
  alarmBackoffMs: 2000,
  /** How often due alarms are looked for, at most. */
  alarmPollMs: 250,
} as const;

/** One object's turn: the requests waiting for it, and the storage writes not yet on disk. */
interface ObjectLine {
  tail: Promise<unknown>;
  waiting: number;
  writes: Set<Promise<unknown>>;
  /** Writes answered but not yet committed, by key (null: deleted): reads see these first. */
  pending: Map<string, Uint8Array | null>;
}

export class DoPlatform implements BindingPlatform {
  private readonly storage: DoStorage;
  private readonly node: NodeServices;
  private readonly lines = new Map<string, ObjectLine>();
  private readonly running = new Set<string>();
  /** In a cluster: each object's home node. */
  private readonly homes: ObjectHomes | undefined;
  /**
   * Per tenant: the bytes its objects' entries take as committed (read from the file at
   * first use), and the change its writes answered but not yet committed make. A write is
   * checked against the quota when it is made, so the object's put rejects at once.
   */
  private readonly committedBytes = new Map<string, number>();
  private readonly pendingBytes = new Map<string, number>();
  private alarmTimer: NodeJS.Timeout | undefined;
  private alarmAt = 0;
  private closed = false;

  constructor(node: NodeServices, homes: ObjectHomes | undefined) {
    this.node = node;
    this.homes = homes;
    this.storage = new DoStorage(node.dataDir);
    this.scheduleAlarms(0);
  }

  async checkTarget(): Promise<void> {
    // The class is checked against the module's exports by the deploy itself (it knows them).
  }

  private line(key: string): ObjectLine {
    let l = this.lines.get(key);
    if (l === undefined) {
      l = { tail: Promise.resolve(), waiting: 0, writes: new Set(), pending: new Map() };
      this.lines.set(key, l);
    }
    return l;
  }

  /** Runs `work` in the object's turn: after the requests before it, alone. */
  private inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const l = this.line(key);
    if (l.waiting >= doLimits.queuedPerObject) {
      return Promise.reject(new FlickError("function_limit", `the durable object is overloaded: ${l.waiting} requests wait for it; send fewer at once`));
    }
    l.waiting++;
    const run = l.tail.then(work, work);
    l.tail = run.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      l.waiting--;
      this.tidy(key, l);
    });
    return run;
  }

  /** Forgets an object's line once nothing waits for it and nothing of it is uncommitted. */
  private tidy(key: string, l: ObjectLine): void {
    if (l.waiting === 0 && l.writes.size === 0 && this.lines.get(key) === l) this.lines.delete(key);
  }

  /** A storage write of the object, tracked until it is on disk (the output gate waits for it). */
  private tracked<T>(key: string, write: Promise<T>): Promise<T> {
    const l = this.line(key);
    l.writes.add(write);
    const done = () => {
      l.writes.delete(write);
      this.tidy(key, l);
    };
    write.then(done, done);
    return write;
  }

  private get quotaBytes(): number {
    return this.node.options.doQuotaMiB * 1024 * 1024;
  }

  /** The tenant's bytes as committed and as its answered writes will leave them. */
  private usage(tenant: string): { committed: number; pending: number } {
    let committed = this.committedBytes.get(tenant);
    if (committed === undefined) {
      committed = this.storage.tenantBytes(tenant);
      this.committedBytes.set(tenant, committed);
    }
    return { committed, pending: this.pendingBytes.get(tenant) ?? 0 };
  }

  private addPending(tenant: string, delta: number): void {
    const left = (this.pendingBytes.get(tenant) ?? 0) + delta;
    if (left === 0) this.pendingBytes.delete(tenant);
    else this.pendingBytes.set(tenant, left);
  }

  /** What the quota counts now: committed, and answered but not yet committed. */
  async storageUsed(tenant: string): Promise<StorageUse> {
    const { committed, pending } = this.usage(tenant);
    return { bytes: committed + pending, quotaBytes: this.node.options.doQuotaMiB * 1024 * 1024, scope: "node" };
  }

  /** A commit changed the tenant's bytes by `delta` (a count not read yet is read from the file, which has it). */
  private addCommitted(tenant: string, delta: number): void {
    const known = this.committedBytes.get(tenant);
    if (known !== undefined) this.committedBytes.set(tenant, known + delta);
  }

  /**
   * How much `ops` grow the tenant's bytes, as the object sees its keys now (its pending
   * writes over what is committed); throws `quota_exceeded` when the tenant would pass its
   * quota. Deletes and writes that shrink are always let through.
   */
  private checkQuota(tenant: string, l: ObjectLine, o: ObjectRef, ops: readonly [string, Uint8Array | null][]): number {
    const after = new Map<string, number>();
    const unknown = ops.map(([k]) => k).filter((k) => !l.pending.has(k));
    const stored = this.storage.sizes(o, unknown);
    unknown.forEach((k, i) => after.set(k, stored[i]!));
    let delta = 0;
    for (const [k, v] of ops) {
      const pending = l.pending.get(k);
      const before = after.get(k) ?? (pending === undefined || pending === null ? -1 : pending.byteLength);
      if (before >= 0) delta -= Buffer.byteLength(k) + before;
      if (v !== null) delta += entryBytes(k, v);
      after.set(k, v === null ? -1 : v.byteLength);
    }
    this.admit(tenant, delta);
    return delta;
  }

  /** Throws `quota_exceeded` when `delta` more bytes would take the tenant past its quota. */
  private admit(tenant: string, delta: number): void {
    if (delta <= 0) return;
    const { committed, pending } = this.usage(tenant);
    const quota = this.quotaBytes;
    if (committed + pending + delta > quota) {
      throw new FlickError("quota_exceeded", `tenant "${tenant}" stores ${committed + pending} bytes in durable objects; ${delta} more is over its quota of ${quota} bytes. Delete keys (storage.delete, deleteAll), or ask the operator for more`);
    }
  }

  /**
   * Writes `ops` behind the object: its reads see them at once (the pending map), the commit
   * runs after. Called in the same turn of the event loop as the call arrived, so the
   * object's next call already sees them. A failed commit resets the object. Throws
   * `quota_exceeded` (nothing written) when the tenant would pass its quota.
   */
  private writeBehind(tenant: string, key: string, o: ObjectRef, ops: [string, Uint8Array | null][], fn: string, className: string): void {
    const l = this.line(key);
    const delta = this.checkQuota(tenant, l, o, ops);
    for (const [k, v] of ops) l.pending.set(k, v);
    this.addPending(tenant, delta);
    this.tracked(key, this.storage.write(o, ops)).then(
      (grown) => {
        this.addPending(tenant, -delta);
        this.addCommitted(tenant, grown);
        for (const [k, v] of ops) if (l.pending.get(k) === v) l.pending.delete(k);
      },
      () => {
        this.addPending(tenant, -delta);
        // What the object saw was never stored: it starts again from what is.
        l.pending.clear();
        this.node.resetObject(fn, className, o.id);
      },
    );
  }

  /** Runs a request (or an alarm) on the object's instance in its turn; the answer leaves once the writes before it are on disk. */
  private async serve(fn: string, className: string, id: string, name: string, request: WireRequest, key: string): Promise<ServedResponse> {
    let before: Promise<unknown>[] = [];
    const served = await this.inTurn(key, async () => {
      const answer = await this.node.serveObject(fn, className, id, name, request);
      before = [...this.line(key).writes];
      return answer;
    });
    // The output gate, outside the turn: the next request runs meanwhile.
    const settled = await Promise.allSettled(before);
    if (settled.some((r) => r.status === "rejected")) {
      throw new FlickError("internal", "the durable object's writes could not be stored, so its answer is withheld; the object starts again from what was stored");
    }
    return served;
  }

  async call(call: Call, tenant: string): Promise<CallResult> {
    const fn = call.caller.slice(call.caller.indexOf("/") + 1);
    if (doContract.storageMethods.includes(call.method)) return this.storageCall(call, tenant, fn);
    if (call.method !== doContract.fetch) return result(`${call.method.slice(0, 64)}() is not a method of a durable object stub`, "TypeError");
    const [id, name, method, url] = call.strings;
    const given = call.strings.slice(4);
    const bad = objectProblem(id, name);
    if (bad !== null || method === undefined || url === undefined || given.length % 2 !== 0 || call.buffers.length > 1) return result(bad ?? "fetch(): malformed request", "TypeError");
    const headers = call.trace === undefined ? given : withTraceHeaders(given, call.trace, call.traceState);
    const request: WireRequest = { method, url, headers, body: call.buffers[0] ?? null, depth: call.depth + 1, ...(call.hops === undefined ? {} : { hops: call.hops }) };
    const key = `${tenant}/${fn}/${call.target}/${id!}`;
    let served: ServedResponse;
    try {
      const home = this.homes === undefined ? this.node.self : await this.homes.homeOf(key);
      served = home === this.node.self
        ? await this.serve(fn, call.target, id!, name!, request, key)
        : await this.node.forwardObject(home, fn, call.target, id!, name!, request);
    } catch (err) {
      return result(err instanceof FlickError ? err.message : String(err));
    }
    if (served.truncated) return result(`the durable object's response is over ${this.node.maxServedBytes} bytes`, "TypeError");
    if (served.error !== null && served.status === 0) return result(`the durable object failed: ${served.error.message}`);
    return result("", "", [String(served.status), ...served.headers], served.body.byteLength === 0 ? [] : [served.body]);
  }

  /**
   * A removed function's objects go with it, every class: their entries, alarms and bytes
   * on the tenant's quota (a function of that name deployed later starts with none). Their
   * writes still pending are committed first; later storage calls are refused
   * (`storageCall` asks whether the function is live).
   */
  async functionRemoved(tenant: string, fn: string): Promise<void> {
    const prefix = `${tenant}/${fn}/`;
    const writes: Promise<unknown>[] = [];
    for (const [key, l] of this.lines) if (key.startsWith(prefix)) writes.push(...l.writes);
    await Promise.allSettled(writes);
    this.addCommitted(tenant, await this.storage.removeFunction(tenant, fn));
  }

  /**
   * At open: the objects of functions removed (or taken by another tenant) while this node
   * was down go, as `functionRemoved` would have done. Returns how many functions' objects went.
   */
  async sweepRemoved(): Promise<number> {
    let swept = 0;
    for (const [tenant, fn] of this.storage.functions()) {
      if ((await this.node.functionTenant(fn)) === tenant) continue;
      await this.functionRemoved(tenant, fn);
      swept++;
    }
    return swept;
  }

  /** A request for an object whose home this node is, sent by another node of the cluster. */
  serveHere(fn: string, className: string, id: string, name: string, request: WireRequest): Promise<ServedResponse> {
    const tenant = this.node.liveFunction(fn)?.tenant;
    if (tenant === undefined || objectProblem(id, name) !== null) return Promise.reject(new FlickError("function_not_found", `function "${fn}" is not deployed (any more)`));
    return this.serve(fn, className, id, name, request, `${tenant}/${fn}/${className}/${id}`);
  }

  /** A call from an object's own instance: `call.target` is "<class>\n<id>\n<name>", given to that instance by the node. */
  private async storageCall(call: Call, tenant: string, fn: string): Promise<CallResult> {
    const [className, id] = call.target.split("\n");
    if (className === undefined || id === undefined || objectProblem(id, "") !== null) return result("storage is for a durable object's own instance", "TypeError");
    // A call still on its way from an instance of a function removed meanwhile: its objects are gone.
    if (this.node.liveFunction(fn)?.tenant !== tenant) return result(`function "${fn}" was removed; its durable objects' storage went with it`);
    const o: ObjectRef = { ns: `${tenant}/${fn}/${className}`, id };
    const key = `${o.ns}/${id}`;
    const keys = call.strings;
    const tooLong = keys.find((k) => Buffer.byteLength(k) > doContract.maxKeyBytes);
    try {
      switch (call.method) {
        case "get": {
          if (tooLong !== undefined || keys.length > doContract.maxKeysPerCall) return result("malformed storage call", "TypeError");
          const l = this.line(key);
          const stored = this.storage.get(o, keys.filter((k) => !l.pending.has(k)));
          let at = 0;
          const values = keys.map((k) => (l.pending.has(k) ? (l.pending.get(k) ?? undefined) : stored[at++]));
          this.tidy(key, l);
          return result("", "", values.map((v) => (v === undefined ? "0" : "1")), values.map((v) => v ?? new Uint8Array(0)));
        }
        case "put": {
          if (tooLong !== undefined || keys.length !== call.buffers.length || keys.length > doContract.maxKeysPerCall || call.buffers.some((b) => b.byteLength > doContract.maxValueBytes)) {
            return result("malformed storage call", "TypeError");
          }
          this.writeBehind(tenant, key, o, keys.map((k, i) => [k, call.buffers[i]!]), fn, className);
          return result("");
        }
        case "delete": {
          if (tooLong !== undefined || keys.length > doContract.maxKeysPerCall) return result("malformed storage call", "TypeError");
          const l = this.line(key);
          const stored = this.storage.get(o, keys.filter((k) => !l.pending.has(k)));
          let at = 0;
          const found = keys.filter((k) => (l.pending.has(k) ? l.pending.get(k) !== null : stored[at++] !== undefined)).length;
          this.writeBehind(tenant, key, o, keys.map((k) => [k, null]), fn, className);
          return result("", "", [String(found)]);
        }
        case "write": {
          const ops: [string, Uint8Array | null][] = [];
          let b = 0;
          for (let i = 0; i + 1 < keys.length; i += 2) {
            const k = keys[i + 1]!;
            if (Buffer.byteLength(k) > doContract.maxKeyBytes) return result("malformed storage call", "TypeError");
            if (keys[i] === "put") {
              const v = call.buffers[b++];
              if (v === undefined || v.byteLength > doContract.maxValueBytes) return result("malformed storage call", "TypeError");
              ops.push([k, v]);
            } else ops.push([k, null]);
          }
          this.writeBehind(tenant, key, o, ops, fn, className);
          return result("");
        }
        case "deleteAll": {
          // Rare: committed before it answers, with what is pending written first.
          await Promise.allSettled([...this.line(key).writes]);
          this.addCommitted(tenant, await this.tracked(key, this.storage.deleteAll(o)));
          this.line(key).pending.clear();
          return result("");
        }
        case "list": {
          const [start, startAfter, end, prefix, reverse, limit] = keys;
          const n = limit === undefined || limit === "" ? 1_000_000 : Number(limit);
          if (!Number.isInteger(n) || n < 1) return result("malformed storage call", "TypeError");
          const range = { start: start ?? "", startAfter: startAfter ?? "", end: end ?? "", prefix: prefix ?? "", reverse: reverse === "1", limit: n };
          const l = this.line(key);
          // Enough stored rows that the pending deletes cannot leave the page short, then the pending writes over them.
          const merged = new Map(this.storage.list(o, { ...range, limit: n + l.pending.size }));
          for (const [k, v] of l.pending) {
            const inRange = k >= range.start && (range.startAfter === "" || k > range.startAfter) && (range.end === "" || k < range.end) && k.startsWith(range.prefix);
            if (!inRange) continue;
            if (v === null) merged.delete(k);
            else merged.set(k, v);
          }
          const sorted = [...merged.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
          if (range.reverse) sorted.reverse();
          const page = sorted.slice(0, n);
          this.tidy(key, l);
          return result("", "", page, page.map((k) => merged.get(k)!));
        }
        case "getAlarm": {
          const at = await this.storage.getAlarm(o);
          return result("", "", [at === null ? "" : String(at)]);
        }
        case "setAlarm": {
          const at = Number(keys[0]);
          if (!Number.isSafeInteger(at)) return result("malformed storage call", "TypeError");
          const [, , name] = call.target.split("\n");
          // A new alarm counts on the quota (objects by the million, each with an alarm, fill a disk too).
          const grows = (await this.storage.getAlarm(o)) === null ? alarmBytes : 0;
          this.admit(tenant, grows);
          this.addPending(tenant, grows);
          try {
            this.addCommitted(tenant, await this.tracked(key, this.storage.setAlarm(o, name ?? "", at)));
          } finally {
            this.addPending(tenant, -grows);
          }
          this.scheduleAlarms(at - Date.now());
          return result("");
        }
        case "deleteAlarm":
          this.addCommitted(tenant, await this.tracked(key, this.storage.deleteAlarm(o)));
          return result("");
      }
    } catch (err) {
      return result(err instanceof FlickError ? err.message : String(err));
    }
    return result("unknown method", "TypeError");
  }

  // — alarms —

  /** Looks for due alarms in `inMs` (at least the poll interval, at most a minute), unless a look is planned sooner. */
  private scheduleAlarms(inMs: number): void {
    if (this.closed) return;
    const at = Date.now() + Math.max(doLimits.alarmPollMs, Math.min(inMs, 60_000));
    if (this.alarmTimer !== undefined) {
      if (this.alarmAt <= at) return;
      clearTimeout(this.alarmTimer);
    }
    this.alarmAt = at;
    this.alarmTimer = setTimeout(() => void this.runDueAlarms(), at - Date.now());
    this.alarmTimer.unref();
  }

  private async runDueAlarms(): Promise<void> {
    this.alarmTimer = undefined;
    try {
      const due = await this.storage.due(Date.now(), 100);
      for (const a of due) {
        const key = `${a.ns}/${a.id}`;
        if (this.running.has(key)) continue;
        this.running.add(key);
        void this.runAlarm(a).finally(() => this.running.delete(key));
      }
      const next = await this.storage.nextAt();
      this.scheduleAlarms(next === null ? 60_000 : next - Date.now());
    } catch (err) {
      if (!this.closed) process.emitWarning(`flick: durable object alarms: ${String(err)}`);
      this.scheduleAlarms(1000);
    }
  }

  private async runAlarm(a: DueAlarm): Promise<void> {
    const [, fn, className] = a.ns.split("/");
    let ok = false;
    try {
      const served = await this.serve(fn!, className!, a.id, a.name, { method: "POST", url: "http://alarm/", headers: [], body: null, scheduled: { cron: "alarm", scheduledTime: a.at } }, `${a.ns}/${a.id}`);
      ok = served.error === null && served.status < 500;
    } catch (err) {
      // The function or its class is gone: the alarm has nothing to run.
      if (err instanceof FlickError && (err.code === "function_not_found" || err.code === "validation_failed")) ok = true;
    }
    if (ok || a.attempts + 1 >= doLimits.alarmTries) this.addCommitted(tenantOf(a.ns), await this.storage.alarmDone(a));
    else await this.storage.alarmRetry(a, Date.now() + doLimits.alarmBackoffMs * 2 ** a.attempts);
    this.scheduleAlarms(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.alarmTimer !== undefined) clearTimeout(this.alarmTimer);
    await this.storage.close();
  }
}

export const doPlatform: BindingPlatformKind = {
  kind: doContract.kind,
  // In a cluster, the objects' homes are in JetStream; the NATS client loads only then.
  open: async (node) => {
    let platform: DoPlatform;
    if (node.nats === undefined) platform = new DoPlatform(node, undefined);
    else {
      const { ObjectHomes } = await import("./object-homes.ts");
      platform = new DoPlatform(node, await ObjectHomes.open(node.nats.connection, node.nats.replicas, node.self));
    }
    // Before the first request: a node that was down when a function was removed still has its objects.
    await platform.sweepRemoved().catch((err: unknown) => process.emitWarning(`flick: durable objects of removed functions were not looked for: ${String(err)}`));
    return platform;
  },
};
