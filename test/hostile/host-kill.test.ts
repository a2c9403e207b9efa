// Threat: a worker host dies — SIGKILL, as the OOM killer or a V8 abort would do it — while
// clients keep the node busy. The guarantee: clients whose connection is to another host
// see nothing (every request succeeds); the dead host's clients lose at most the request
// each had in flight; the host is restarted and serves again.
//
// Each client is one keep-alive connection at a time (an agent with one socket). Which host
// holds a connection is learnt by asking `/healthz` on it: the host answers it itself, with
// its pid. A client whose connection breaks opens a new one and asks again.
import assert from "node:assert/strict";
import { Agent, request, type ClientRequest } from "node:http";
import type { Socket } from "node:net";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { hostPids, httpCall } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 2 });
  await deploySource(node.admin, "work", `export default { async fetch(request) { await null; return new Response("done " + new URL(request.url).searchParams.get("n")); } };`);
});
after(() => node.kill("SIGKILL"));

interface Answer {
  status: number;
  body: string;
  socket: Socket | undefined;
  error?: string;
}

function call(agent: Agent, path: string): Promise<Answer> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    const req: ClientRequest = request(`${node.url}${path}`, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, socket }));
      res.on("error", (err) => resolve({ status: 0, body, socket, error: String(err) }));
      res.on("aborted", () => resolve({ status: 0, body, socket, error: "aborted" }));
    });
    req.on("socket", (s) => (socket = s));
    req.on("error", (err) => resolve({ status: 0, body: "", socket, error: String(err) }));
    req.end();
  });
}

/** The host each known connection goes to. */
const hostOf = new WeakMap<Socket, number>();

interface Outcome {
  client: number;
  /** The host of the connection it went on; undefined when that connection broke before we could ask. */
  host: number | undefined;
  ok: boolean;
  /** Started before the kill and ended after it: in flight. */
  startedBeforeKill: boolean;
  detail: string;
}

class Client {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  socket: Socket | undefined;
  done = 0;
  doneAfterKill = 0;
  stopped = false;
  readonly outcomes: Outcome[] = [];
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }

  /** The host of the connection the next request will use (asking if it is a new one). */
  async learnHost(): Promise<number | undefined> {
    if (this.socket !== undefined && !this.socket.destroyed && hostOf.has(this.socket)) return hostOf.get(this.socket);
    const answer = await call(this.agent, "/healthz");
    if (answer.status !== 200 || answer.socket === undefined) return undefined;
    this.socket = answer.socket;
    hostOf.set(answer.socket, (JSON.parse(answer.body) as { pid: number }).pid);
    return hostOf.get(answer.socket);
  }

  async run(state: { killed: boolean }, onProgress: () => void): Promise<void> {
    // More than one failure is already a failed test: stop rather than spin on a dead node.
    while (!this.stopped && this.outcomes.filter((o) => !o.ok).length < 3) {
      await this.learnHost();
      const startedBeforeKill = !state.killed;
      const n = this.done;
      const answer = await call(this.agent, `/fn/work?n=${n}`);
      const ok = answer.status === 200 && answer.body === `done ${n}`;
      if (answer.socket !== undefined) this.socket = answer.socket;
      const host = answer.socket === undefined ? undefined : hostOf.get(answer.socket);
      this.outcomes.push({ client: this.id, host, ok, startedBeforeKill: startedBeforeKill && state.killed, detail: answer.error ?? `${answer.status} ${answer.body.slice(0, 120)}` });
      if (ok) {
        this.done++;
        if (state.killed && !startedBeforeKill) this.doneAfterKill++;
      }
      onProgress();
    }
    this.stopped = true;
    this.agent.destroy();
    onProgress();
  }
}

/** Checks of the waits below, run whenever a client finished a request. */
const listeners = new Set<() => void>();
const progress = () => {
  for (const check of [...listeners]) check();
};

/** Resolves once `condition` holds. */
function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!condition()) return;
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
    check();
  });
}

test("SIGKILL of one host under load: the other host's clients see no failure, the dead host's lose at most their request in flight, and it comes back", { timeout: 180_000 }, async (t) => {
  const hosts = hostPids(node);
  assert.equal(hosts.length, 2);

  // Clients until each host holds at least two (the kernel spreads connections by their ports).
  const clients: Client[] = [];
  const perHost = () => {
    const counts = new Map(hosts.map((h) => [h, 0]));
    for (const c of clients) {
      const h = c.socket === undefined ? undefined : hostOf.get(c.socket);
      if (h !== undefined) counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    return counts;
  };
  while (clients.length < 64 && (clients.length < 6 || [...perHost().values()].some((n) => n < 2))) {
    const c = new Client(clients.length);
    clients.push(c);
    await c.learnHost();
  }
  assert.ok([...perHost().values()].every((n) => n >= 2), `clients per host: ${JSON.stringify([...perHost()])}`);

  const state = { killed: false };
  const running = clients.map((c) => c.run(state, progress));

  // Steady load first: every client has done some requests on its host.
  await until(() => clients.every((c) => c.done >= 20 || c.stopped));
  const counts = perHost();
  const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  const survivor = hosts.find((h) => h !== victim)!;
  const onVictim = clients.filter((c) => c.socket !== undefined && hostOf.get(c.socket) === victim).length;
  t.diagnostic(`${clients.length} clients, per host ${JSON.stringify([...counts])}; killing ${victim} (${onVictim} clients on it)`);
  state.killed = true;
  process.kill(victim, "SIGKILL");

  // The host is replaced: a new child process, counted by /readyz, answering on the port.
  let replacement: number | undefined;
  for (let i = 0; replacement === undefined; i++) {
    assert.ok(i < 100_000, "the killed host was never replaced");
    assert.equal(node.process.exitCode, null, `the node exited:\n${node.output().slice(-2000)}`);
    const ready = await httpCall(`${node.url}/readyz`).catch(() => undefined);
    const now = hostPids(node);
    if (ready?.status === 200 && (JSON.parse(ready.body.toString()) as { hosts: number }).hosts === 2 && now.length === 2 && !now.includes(victim)) {
      replacement = now.find((p) => p !== survivor);
    }
  }
  assert.ok(hostPids(node).includes(survivor), "the other host is the same process");
  // It serves: a fresh connection that lands on it answers /healthz and runs the function.
  const probe = new Agent({ keepAlive: true, maxSockets: 1 });
  let served = false;
  for (let i = 0; !served; i++) {
    assert.ok(i < 100_000, "the new host never answered");
    assert.equal(node.process.exitCode, null, `the node exited:\n${node.output().slice(-2000)}`);
    const health = await call(probe, "/healthz");
    if (health.status === 200 && (JSON.parse(health.body) as { pid: number }).pid === replacement) {
      const work = await call(probe, "/fn/work?n=probe");
      assert.equal(work.socket, health.socket, "the same connection");
      assert.equal(`${work.status} ${work.body}`, "200 done probe");
      served = true;
    }
    health.socket?.destroy(); // the next try is a new connection, which the kernel may give the new host
  }
  probe.destroy();

  // And the load went on meanwhile: every client did more since the kill.
  await until(() => clients.every((c) => c.doneAfterKill >= 20 || c.stopped));
  for (const c of clients) c.stopped = true;
  await Promise.all(running);

  assert.ok(clients.every((c) => c.doneAfterKill >= 20), "every client went on after the kill");
  const outcomes = clients.flatMap((c) => c.outcomes);
  const failures = outcomes.filter((o) => !o.ok);
  t.diagnostic(`${outcomes.length} requests, ${failures.length} failed: ${JSON.stringify(failures.slice(0, 10))}`);
  const onOthers = failures.filter((o) => o.host !== undefined && o.host !== victim);
  assert.deepEqual(onOthers, [], "requests on connections to the other hosts all succeeded");
  // A failure is the killed host's request in flight — or one sent on its connection
  // before the client saw that connection close — and each of its clients has one at most.
  const victimClients = new Set(clients.filter((c) => c.outcomes.some((o) => o.host === victim)).map((c) => c.id));
  for (const f of failures) assert.ok(f.host === victim || (f.host === undefined && f.startedBeforeKill), `a failure not on the killed host: ${JSON.stringify(f)}`);
  for (const f of failures) assert.ok(victimClients.has(f.client) || f.host === undefined, `client ${f.client} was not on the killed host`);
  assert.ok(failures.length <= onVictim, `${failures.length} failures, more than the ${onVictim} requests that could be in flight on the killed host`);
  for (const c of clients) assert.ok(c.outcomes.filter((o) => !o.ok).length <= 1, `client ${c.id} lost more than one request`);
  assert.equal(node.process.exitCode, null, "the node is alive");
});
