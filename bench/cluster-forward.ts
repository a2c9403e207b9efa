/**
 * Forwarding between nodes, and how long a killed node's functions take to answer again
 * (docs/cluster.md, "Placement and forwarding"). Three NATS servers and three Flick nodes
 * on this machine: node-1 in zone a, node-2 and node-3 in zone b, and a function pinned to
 * zone b with two provisioned instances (one on each zone-b node).
 *
 * - **Latency**, in interleaved rounds, one request at a time: straight to node-2 (no
 *   hop); through node-1, which forwards over HTTP (what Flick does); and over NATS
 *   request-reply to a responder process that runs the request against node-2 over
 *   loopback (bench/nats-forwarder.ts: what a NATS hop would cost instead). The added
 *   latency is each path's median minus the direct one's, in the same round.
 * - **Failover**: two clients send requests through node-1 while node-3 is SIGKILLed:
 *   the time from the kill to the next answer, the requests that failed, and the time
 *   until node-2 holds both provisioned instances (the membership's 10 s time-to-live).
 *   node-3 is started again after each round.
 */
import { spawn } from "node:child_process";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { closeQuietly } from "../test/support/nats-cluster.ts";
import { startFlickCluster, type FlickCluster } from "../test/support/flick-cluster.ts";
import type { TestNode } from "../test/support/node-process.ts";
import { quantile } from "./async.ts";

export interface ForwardLatencyRound {
  directP50Ms: number;
  directP99Ms: number;
  httpP50Ms: number;
  httpP99Ms: number;
  natsP50Ms: number;
  natsP99Ms: number;
}

export interface FailoverRound {
  /** From the SIGKILL to the next request answered (by the other zone-b node). */
  answeredAgainMs: number;
  requests: number;
  failed: number;
  /** From the SIGKILL until node-2 keeps both provisioned instances. */
  instancesMovedMs: number;
}

export interface ClusterForwardResult {
  requestsPerPath: number;
  latency: ForwardLatencyRound[];
  failover: FailoverRound[];
}

const source = `export default { fetch: () => new Response("ran") };`;

export async function measureClusterForward(requests = 2000, rounds = 3): Promise<ClusterForwardResult> {
  const zones = ["a", "b", "b"];
  const cluster = await startFlickCluster({ nodes: 3, argsOf: (i) => ["--labels", `zone=${zones[i]}`], startWithinMs: 120_000 });
  const result: ClusterForwardResult = { requestsPerPath: requests, latency: [], failover: [] };
  const forwarder = spawn(process.execPath, [new URL("./nats-forwarder.ts", import.meta.url).pathname, cluster.nats.urls.join(","), "bench.forward", cluster.nodes[1]!.url], { stdio: ["ignore", "pipe", "inherit"] });
  const nc = await connect({ servers: cluster.nats.urls });
  try {
    await new Promise<void>((resolve, reject) => {
      forwarder.stdout!.once("data", () => resolve());
      forwarder.once("exit", (code) => reject(new Error(`the NATS forwarder exited (${code})`)));
    });
    const node = (i: number) => cluster.nodes[i]!;
    await until(async () => (await node(0).admin.listNodes()).length === 3);
    await node(0).admin.deploy("pinned", { code: source });
    await node(0).admin.scale("pinned", { pin: { zone: "b" }, minInstances: 2 });
    await until(async () => (await provisionedOn(node(1))) === 1 && (await provisionedOn(node(2))) === 1);
    await until(async () => (await fetch(`${node(0).url}/fn/pinned`)).headers.get("x-flick-forwarded-to") !== null);

    const direct = () => timed(() => fetch(`${node(1).url}/fn/pinned`));
    const viaHttp = () => timed(() => fetch(`${node(0).url}/fn/pinned`));
    const viaNats = () => timedNats(nc);
    for (let r = 0; r < rounds; r++) {
      const [d, h, n] = [await series(direct, requests), await series(viaHttp, requests), await series(viaNats, requests)];
      result.latency.push({
        directP50Ms: quantile(d, 0.5), directP99Ms: quantile(d, 0.99),
        httpP50Ms: quantile(h, 0.5), httpP99Ms: quantile(h, 0.99),
        natsP50Ms: quantile(n, 0.5), natsP99Ms: quantile(n, 0.99),
      });
    }
    for (let r = 0; r < rounds; r++) result.failover.push(await failover(cluster));
  } finally {
    forwarder.kill("SIGKILL");
    await closeQuietly(nc);
    await cluster.stop();
  }
  return result;
}

async function until(ok: () => Promise<boolean>, withinMs = 120_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error("the cluster did not reach the state the bench waits for within 2 minutes");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function provisionedOn(node: TestNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } })).text();
  const line = text.split("\n").find((l) => l.startsWith("flick_instances{") && l.includes('function="pinned"') && l.includes('state="provisioned"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function timed(send: () => Promise<Response>): Promise<number> {
  const start = performance.now();
  const res = await send();
  const text = await res.text();
  if (res.status !== 200 || text !== "ran") throw new Error(`a request answered ${res.status}: ${text.slice(0, 200)}`);
  return performance.now() - start;
}

async function timedNats(nc: Awaited<ReturnType<typeof connect>>): Promise<number> {
  const start = performance.now();
  const head = natsHeaders();
  head.set("flick-head", JSON.stringify({ method: "GET", path: "/fn/pinned", headers: [["accept", "*/*"]] }));
  const reply = await nc.request("bench.forward", new Uint8Array(0), { timeout: 10_000, headers: head });
  const status = (JSON.parse(reply.headers?.get("flick-head") ?? "{}") as { status?: number }).status;
  if (status !== 200 || reply.string() !== "ran") throw new Error(`a request over NATS answered ${status}`);
  return performance.now() - start;
}

/** `count` requests one after another, after 100 not counted (connections made, code warm); their times sorted. */
async function series(one: () => Promise<number>, count: number): Promise<number[]> {
  for (let i = 0; i < 100; i++) await one();
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await one());
  return times.sort((a, b) => a - b);
}

async function failover(cluster: FlickCluster): Promise<FailoverRound> {
  const via = `${cluster.nodes[0]!.url}/fn/pinned`;
  const outcomes: { atMs: number; ok: boolean; to: string | null }[] = [];
  let stop = false;
  const client = async () => {
    while (!stop) {
      const res = await fetch(via).catch(() => undefined);
      const ok = res?.status === 200 && (await res.text()) === "ran";
      if (res !== undefined && !ok) await res.body?.cancel().catch(() => undefined);
      outcomes.push({ atMs: performance.now(), ok, to: res?.headers.get("x-flick-forwarded-to") ?? null });
    }
  };
  const clients = [client(), client()];
  await until(async () => outcomes.some((o) => o.to === "node-3") && outcomes.some((o) => o.to === "node-2"));
  const killedAt = performance.now();
  await cluster.nodes[2]!.kill("SIGKILL");
  await until(async () => (await provisionedOn(cluster.nodes[1]!)) === 2);
  const movedAt = performance.now();
  stop = true;
  await Promise.all(clients);
  const back = outcomes.find((o) => o.atMs > killedAt && o.ok);
  const round = { answeredAgainMs: (back?.atMs ?? NaN) - killedAt, requests: outcomes.length, failed: outcomes.filter((o) => !o.ok).length, instancesMovedMs: movedAt - killedAt };
  // node-3 again, and its provisioned instance back on it, for the next round.
  await cluster.start(2);
  await until(async () => (await provisionedOn(cluster.nodes[2]!)) === 1 && (await provisionedOn(cluster.nodes[1]!)) === 1);
  return round;
}
