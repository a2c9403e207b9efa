/**
 * A worker host killed with SIGKILL under load. Clients on keep-alive connections (the
 * kernel spread them over the hosts) send hello world back to back; a third of the way in,
 * one host is killed. A connection that breaks was the killed host's: its requests in
 * flight fail and it reconnects (to a surviving host, or the replacement). The measure:
 * the success ratio of the requests that went to the other hosts (every request but those
 * on broken connections at the moment they broke), the goal ≥ 0.99; also how many failed
 * in all, and how long until the node had all its hosts again.
 */
import { execFileSync } from "node:child_process";
import { Agent, request } from "node:http";
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";

export interface HostKill {
  clients: number;
  durationS: number;
  requests: number;
  /** Requests on connections that broke when the host died (in flight there). */
  failedOnKilledHost: number;
  /** Requests to the surviving hosts (and to the replacement) that failed. */
  failedElsewhere: number;
  /** Successes over requests that did not go to the killed host. */
  successRatioOtherHosts: number;
  /** From the kill until /readyz counted every host again, ms. */
  recoveredMs: number;
}

function get(agent: Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export async function measureHostKill(clients = 32, durationS = 6): Promise<HostKill> {
  const flick = await startFlick();
  try {
    await flick.client.deploy("kill-me", { code: (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code });
    const url = new URL(`${flick.baseUrl}/fn/kill-me`);
    const hosts = (await (await fetch(`${flick.baseUrl}/readyz`)).json() as { hosts: number }).hosts;
    const stopAt = performance.now() + durationS * 1000;
    let requests = 0;
    let failedOnKilledHost = 0;
    let failedElsewhere = 0;
    let killed = false;
    const client = async () => {
      // One socket per client: a broken connection is a new one on the next request.
      let agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let openedBeforeKill = !killed;
      while (performance.now() < stopAt) {
        requests++;
        try {
          const status = await get(agent, url);
          if (status !== 200) failedElsewhere++;
        } catch {
          // A connection made before the kill that breaks after it was the killed host's.
          if (killed && openedBeforeKill) failedOnKilledHost++;
          else failedElsewhere++;
          agent.destroy();
          agent = new Agent({ keepAlive: true, maxSockets: 1 });
          openedBeforeKill = !killed;
        }
      }
      agent.destroy();
    };
    const running = Array.from({ length: clients }, () => client());
    await new Promise((r) => setTimeout(r, (durationS * 1000) / 3));
    const children = execFileSync("pgrep", ["-P", String(flick.child.pid)], { encoding: "utf8" }).trim().split("\n").map(Number);
    const victim = children.find((pid) => /worker-main/.test(execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" })))!;
    const killedAt = performance.now();
    killed = true;
    process.kill(victim, "SIGKILL");
    let recoveredMs = -1;
    while (recoveredMs < 0 && performance.now() < stopAt + 10_000) {
      // The probe's own connection may be one the dying host had queued (reset without
      // net.ipv4.tcp_migrate_req): it asks again rather than ending the run.
      const ready = (await fetch(`${flick.baseUrl}/readyz`).then((r) => r.json(), () => ({ hosts: -1 }))) as { hosts: number };
      if (ready.hosts === hosts && !execFileSync("pgrep", ["-P", String(flick.child.pid)], { encoding: "utf8" }).includes(String(victim))) {
        recoveredMs = performance.now() - killedAt;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(running);
    const others = requests - failedOnKilledHost;
    return { clients, durationS, requests, failedOnKilledHost, failedElsewhere, successRatioOtherHosts: (others - failedElsewhere) / others, recoveredMs };
  } finally {
    await stopTarget(flick);
  }
}
