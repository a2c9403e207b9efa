// Real NATS servers for tests: a JetStream cluster of `size` nats-server processes on
// loopback, each with its own store folder in a temporary dir, routed to one another.
// Ports are reserved up front so a server killed with SIGKILL comes back on the same ones
// and rejoins as the same peer (JetStream knows peers by server name).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before } from "node:test";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsServer {
  name: string;
  /** Its client URL, nats://127.0.0.1:PORT. */
  url: string;
  /** Whether its process runs. */
  running(): boolean;
  /** Stops it (SIGKILL: as a crash; SIGTERM: a clean stop) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and store, and waits until it is ready. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  servers: NatsServer[];
  /** Every server's client URL: what `flick up --cluster` takes. */
  urls: string[];
  /** Stops every server and removes their store folders. */
  stop(): Promise<void>;
}

/**
 * Closes a client connection, giving up after 5 s: nats.js's close waits for its transport
 * to say it closed, and a transport caught half-way through a reconnect (its server just
 * killed) never does, which would hang the test's `after` with nothing left to wait on.
 */
export async function closeQuietly(nc: NatsConnection | undefined): Promise<void> {
  if (nc === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([nc.close().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
}

/**
 * Where nats-server is: `NATS_SERVER`, else on PATH, else in /usr/sbin and /usr/local/sbin
 * (Debian installs it in /usr/sbin, which a non-root PATH often lacks).
 */
export function natsServerBinary(): string {
  const given = process.env["NATS_SERVER"];
  if (given !== undefined && given !== "") return given;
  const dirs = [...(process.env["PATH"] ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"];
  const found = dirs.filter((d) => d !== "").map((d) => path.join(d, "nats-server")).find((f) => existsSync(f));
  if (found === undefined) throw new Error("nats-server was not found on PATH or in /usr/sbin; install it (apt-get install nats-server) or set NATS_SERVER to its path");
  // Flick's cluster needs 2.10 or later (docs/cluster.md, "NATS version"): say so, rather than fail in odd ways.
  const version = /v(\d+)\.(\d+)\.\d+/.exec(execFileSync(found, ["--version"], { encoding: "utf8" }));
  if (version === null || Number(version[1]) * 100 + Number(version[2]) < 210) {
    throw new Error(`${found} is ${version?.[0] ?? "of an unknown version"}; Flick's cluster needs nats-server 2.10 or later (.ci/run installs it from Debian), or set NATS_SERVER to one`);
  }
  return found;
}

/** A port free now on 127.0.0.1 (the OS picks it; the server binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `size` servers routed to one another and waits until JetStream can place a stream
 * on all of them. Now and then (seen in CI, about once in a few dozen starts on a loaded
 * machine) a fresh cluster answers "no suitable peers for placement" for over a minute: it
 * is then started again from scratch, on new ports, up to three times, and the servers'
 * own logs go into the error if it never comes up.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(size, attempt < 3 ? 20_000 : 60_000);
    } catch (err) {
      if (attempt >= 3) throw err;
      process.emitWarning(`test NATS cluster not ready (attempt ${attempt}), starting it again: ${String(err).slice(0, 300)}`);
    }
  }
}

async function startNatsClusterOnce(size: number, readyWithinMs: number): Promise<NatsCluster> {
  const root = mkdtempSync(path.join(tmpdir(), "flick-nats-"));
  const clusterName = `flick-test-${path.basename(root).slice(-6)}`;
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(",");
  const binary = natsServerBinary();
  const servers = ports.map((p, i) => server(binary, `n${i + 1}`, p, routes, clusterName, path.join(root, `n${i + 1}`)));
  try {
    await Promise.all(servers.map((s) => s.restart()));
    await jetStreamReady(servers.map((s) => s.url), readyWithinMs);
  } catch (err) {
    const logs = servers.map((s) => `--- ${s.name}:\n${s.log().split("\n").slice(-15).join("\n")}`).join("\n");
    await Promise.all(servers.map((s) => s.kill("SIGKILL")));
    rmSync(root, { recursive: true, force: true });
    throw new Error(`${String(err)}\n${logs}`);
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    async stop() {
      await Promise.all(servers.map((s) => s.kill("SIGKILL")));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function server(binary: string, name: string, ports: { client: number; route: number }, routes: string, clusterName: string, storeDir: string): NatsServer & { log(): string } {
  let child: ChildProcess | undefined;
  let log = "";
  let exited: Promise<void> = Promise.resolve();
  const url = `nats://127.0.0.1:${ports.client}`;
  return {
    name,
    url,
    log: () => log,
    running: () => child?.pid !== undefined && child.exitCode === null && child.signalCode === null,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    async restart() {
      const args = [
        "--server_name", name, "--addr", "127.0.0.1", "--port", String(ports.client),
        "--jetstream", "--store_dir", storeDir,
        "--cluster_name", clusterName, "--cluster", `nats://127.0.0.1:${ports.route}`, "--routes", routes,
      ];
      const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
      child = proc;
      // A process that could not be started emits "error" and never "exit".
      exited = new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.once("error", () => resolve());
      });
      let output = "";
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        proc.once("error", (err) => reject(new Error(`nats-server could not start (${err.message}); install it: apt-get install nats-server`)));
        proc.once("exit", (code) => reject(new Error(`nats-server ${name} exited (${code}) before it was ready:\n${output}`)));
        // A bound on a wait that would otherwise never end, not a speed target.
        timer = setTimeout(() => {
          proc.kill("SIGKILL");
          reject(new Error(`nats-server ${name} was not ready within 30 s:\n${output}`));
        }, 30_000);
        proc.stderr!.on("data", (d: Buffer) => {
          const text = d.toString();
          if (output.length < 100_000) output += text;
          // The last 64 KiB of everything it said, for an error that needs its side of the story.
          log = (log + text).slice(-65_536);
          if (output.includes("Server is ready")) resolve();
        });
      }).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Waits until the cluster's JetStream can place a stream on every server: before the meta
 * leader is elected, creating a stream fails with "JetStream system temporarily
 * unavailable", and until it has heard from every peer, an R`size` stream fails with "no
 * suitable peers for placement" (seen on a loaded CI machine right after start). So the
 * probe is the thing the tests do first: make an R`size` stream, then remove it.
 */
async function jetStreamReady(urls: string[], withinMs: number): Promise<void> {
  const nc = await connect({ servers: urls });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        await jsm.streams.add({ name: "READY_PROBE", subjects: ["ready.probe"], num_replicas: urls.length, storage: StorageType.Memory });
        await jsm.streams.delete("READY_PROBE");
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the NATS cluster's JetStream could not place a stream on all ${urls.length} servers within ${withinMs / 1000} s: ${String(err)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await closeQuietly(nc);
  }
}

/**
 * A test file's NATS cluster and one client connection to it: started before the file's
 * tests, stopped after them. Read them inside tests (`nats.cluster()`, `nats.nc()`).
 */
export function natsClusterForFile(size = 3): { cluster(): NatsCluster; nc(): NatsConnection } {
  let cluster: NatsCluster | undefined;
  let nc: NatsConnection | undefined;
  before(async () => {
    cluster = await startNatsCluster(size);
    nc = await connect({ servers: cluster.urls });
  });
  after(async () => {
    await closeQuietly(nc);
    await cluster?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the NATS cluster is not started: use it inside tests, after the file's before hook");
    return value;
  };
  return { cluster: () => started(cluster), nc: () => started(nc) };
}

/**
 * One real nats-server with JetStream on a free port, its store under `dir`: resolves once it
 * says it is ready, with its URL and the child to kill.
 */
export async function startSingleNats(dir: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(natsServerBinary(), ["--addr", "127.0.0.1", "--port", String(port), "--jetstream", "--store_dir", path.join(dir, "nats")], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`nats-server exited (${code}):\n${output}`)));
    proc.stderr!.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes("Server is ready")) resolve();
    });
  });
  return { url: `nats://127.0.0.1:${port}`, process: proc };
}
