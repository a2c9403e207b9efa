// The QueueStore contract (test/contracts/queue-store-contract.ts) against the embedded SQLite queue, on real files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import { SqliteQueue } from "../src/store/index.ts";
import { queueStoreContract } from "./contracts/queue-store-contract.ts";
import { reopenable } from "./contracts/reopenable.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

queueStoreContract({
  name: "SqliteQueue",
  async create() {
    const dir = mkdtempSync(path.join(tmpdir(), "flick-queue-contract-"));
    dirs.push(dir);
    return reopenable(() => new SqliteQueue(dir));
  },
});
