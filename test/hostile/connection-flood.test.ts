// Threat: anyone opens far more TCP connections than the node should hold — idle ones that
// send nothing, and slow ones that send half a request line — to exhaust its file
// descriptors and lock everyone else out. The guarantee: each host holds at most its share
// of `--max-connections` (a new connection beyond is closed at once), so the node's file
// descriptors stay bounded and it stays alive; an idle or slow connection is closed by the
// headers timeout (with a 408); once they are, a normal request succeeds.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { assertNodeServes, hostPids, httpCall, openFds } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const maxConnections = 64;
const hosts = 2;
const idle = 400;
const halfRequests = 100;
/** Descriptors a process may open besides client connections meanwhile (log files, IPC, a probe). */
const slack = 24;

let node: TestNode;
let pids: number[];
let baseline: Map<number, number>;

before(async () => {
  node = await startTestNode({ hosts, args: ["--max-connections", String(maxConnections), "--headers-timeout", "1s"] });
  await deploySource(node.admin, "ok", `export default { fetch: () => new Response("ok") };`);
  // Every host answers once (its instance is up), so the baseline has their usual descriptors.
  const seen = new Set<number>();
  for (let i = 0; i < 200 && seen.size < hosts; i++) {
    seen.add((JSON.parse((await httpCall(`${node.url}/healthz`)).body.toString()) as { pid: number }).pid);
    assert.equal((await httpCall(`${node.url}/fn/ok`)).status, 200);
  }
  pids = hostPids(node);
  baseline = new Map([node.process.pid!, ...pids].map((pid) => [pid, openFds(pid)]));
});
after(() => node.kill());

interface Flooder {
  socket: Socket;
  connected: Promise<boolean>;
  closed: Promise<void>;
  isClosed: boolean;
  received: string;
}

function open(port: number, send: string): Flooder {
  const socket = connect(port, "127.0.0.1");
  const f: Flooder = { socket, connected: Promise.resolve(false), closed: Promise.resolve(), isClosed: false, received: "" };
  f.connected = new Promise((resolve) => {
    socket.once("connect", () => {
      if (send !== "") socket.write(send);
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
  f.closed = new Promise((resolve) =>
    socket.once("close", () => {
      f.isClosed = true;
      resolve();
    }),
  );
  socket.on("data", (d: Buffer) => (f.received += d.toString("latin1")));
  socket.on("error", () => {});
  return f;
}

/** Descriptors each process holds now, above what it held before the flood. */
function extraFds(): Map<number, number> {
  return new Map([...baseline].map(([pid, before]) => [pid, openFds(pid) - before]));
}

function assertBounded(extra: Map<number, number>, when: string): void {
  const perHost = maxConnections / hosts;
  for (const [pid, n] of extra) {
    const allowed = pid === node.process.pid ? slack : perHost + slack;
    assert.ok(n <= allowed, `${when}: process ${pid} holds ${n} more descriptors than before the flood (at most ${allowed}): ${JSON.stringify([...extra])}`);
  }
}

test(`${idle} idle and ${halfRequests} half-sent connections against --max-connections ${maxConnections}: bounded descriptors, closed by the headers timeout, then service`, { timeout: 180_000 }, async (t) => {
  const port = Number(new URL(node.url).port);
  const flood = [
    ...Array.from({ length: idle }, () => open(port, "")),
    ...Array.from({ length: halfRequests }, (_, i) => open(port, i % 2 === 0 ? "GET /fn/ok HT" : "GET /fn/ok HTTP/1.1\r\nHost: x\r\nX-Slow: ")),
  ];
  const connected = (await Promise.all(flood.map((f) => f.connected))).filter(Boolean).length;
  assert.ok(connected > maxConnections * 2, `${connected} of ${flood.length} connections were made`);
  // A request behind them on a fresh connection: answered or refused, the hosts have
  // accepted (and closed or kept) what came before it on their queue.
  await httpCall(`${node.url}/healthz`).catch(() => undefined);
  const atFlood = extraFds();
  t.diagnostic(`extra descriptors after the flood connected: ${JSON.stringify([...atFlood])}`);
  assertBounded(atFlood, "after the flood connected");

  // The ones beyond the cap are closed at once; what is left open is within the cap.
  let peak = new Map<number, number>();
  const sample = () => {
    for (const [pid, n] of extraFds()) peak.set(pid, Math.max(peak.get(pid) ?? 0, n));
  };
  let closedSoFar = 0;
  await new Promise<void>((resolve) => {
    const onClose = () => {
      closedSoFar++;
      if (closedSoFar % 50 === 0) sample();
      if (closedSoFar >= flood.length - maxConnections) resolve();
    };
    for (const f of flood) void f.closed.then(onClose);
  });
  sample();
  t.diagnostic(`peak while refusing: ${JSON.stringify([...peak])}`);
  assertBounded(peak, "while the flood was being refused");
  const stillOpen = flood.filter((f) => !f.isClosed).length;
  assert.ok(stillOpen <= maxConnections, `${stillOpen} connections held at once`);
  assert.equal(node.process.exitCode, null, "the node is alive");
  assert.deepEqual(hostPids(node), pids, "no host died");

  // Every connection is closed by the node, the ones it kept by the headers timeout (408).
  await Promise.all(flood.map((f) => f.closed));
  const timedOut = flood.filter((f) => f.received.startsWith("HTTP/1.1 408")).length;
  assert.ok(timedOut > 0, "the kept connections were closed by the headers timeout");
  for (const f of flood) assert.ok(f.received === "" || f.received.startsWith("HTTP/1.1 408"), `a flood connection got ${JSON.stringify(f.received.slice(0, 80))}`);
  peak = new Map();
  sample();
  assertBounded(peak, "after the flood");

  // Normal service, on fresh connections (whichever host the kernel picks).
  for (let i = 0; i < 20; i++) {
    const answer = await httpCall(`${node.url}/fn/ok`);
    assert.equal(answer.status, 200);
  }
  await assertNodeServes(node, pids, "ok", "ok");
});

test(
  "an idle connection is closed by the headers timeout (1 s) before a request that takes 5 s is answered",
  async () => {
    await deploySource(node.admin, "slow", `export default { fetch: () => new Promise((r) => setTimeout(() => r(new Response("slow")), 5000)) };`);
    const port = Number(new URL(node.url).port);
    const quiet = open(port, "");
    assert.ok(await quiet.connected);
    const slow = await httpCall(`${node.url}/fn/slow`);
    assert.equal(slow.status, 200);
    const closedFirst = quiet.isClosed;
    quiet.socket.destroy();
    assert.ok(closedFirst, "the idle connection was still open when the 5 s request was answered");
  },
);
