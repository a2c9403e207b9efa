/**
 * Flick nodes as one platform, for tests: a three-server NATS cluster (R3), one sealing key
 * shared by every node, and nodes `node-1` … `node-N` (`flick up --cluster`), each on its own
 * data dir so a killed node can be started again as itself.
 */
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { startNatsCluster, type NatsCluster } from "./nats-cluster.ts";
import { startTestNode, tempDir, type TestNode, type TestNodeOptions } from "./node-process.ts";

export interface FlickClusterOptions extends Pick<TestNodeOptions, "env" | "startWithinMs"> {
  nodes: number;
  /** More `flick up` flags for every node. */
  args?: string[];
  /** More `flick up` flags for node i alone (its `--labels`, say). */
  argsOf?: (i: number) => string[];
}

export interface FlickCluster {
  nats: NatsCluster;
  /** Node i while it runs (`node-<i + 1>`); undefined once a test killed it and until `start(i)`. */
  nodes: (TestNode | undefined)[];
  /** Starts node i on its data dir (again, after a kill) and puts it in `nodes`. */
  start(i: number): Promise<TestNode>;
  /** SIGKILLs every node and NATS server, and removes their dirs. */
  stop(): Promise<void>;
}

/** Starts the NATS servers, then every node at once (as nodes started together race for the default tenant). */
export async function startFlickCluster(options: FlickClusterOptions): Promise<FlickCluster> {
  const nats = await startNatsCluster(3);
  const keys = tempDir("flick-keys-");
  const key = path.join(keys, "cluster.key");
  writeFileSync(key, randomBytes(32).toString("hex"), { mode: 0o600 });
  const dataDirs = Array.from({ length: options.nodes }, () => tempDir());
  const nodes: (TestNode | undefined)[] = dataDirs.map(() => undefined);
  const start = async (i: number): Promise<TestNode> => {
    const node = await startTestNode({
      dataDir: dataDirs[i], hosts: 1,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.startWithinMs === undefined ? {} : { startWithinMs: options.startWithinMs }),
      args: ["--cluster", nats.urls.join(","), "--node-name", `node-${i + 1}`, "--secret-key-file", key, ...(options.args ?? []), ...(options.argsOf?.(i) ?? [])],
    });
    nodes[i] = node;
    return node;
  };
  const stop = async () => {
    await Promise.all(nodes.map((n) => n?.kill("SIGKILL")));
    await nats.stop();
    for (const dir of [keys, ...dataDirs]) rmSync(dir, { recursive: true, force: true });
  };
  const started = await Promise.allSettled(dataDirs.map((_, i) => start(i)));
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  return { nats, nodes, start, stop };
}
