// The Store contract (test/contracts/store-contract.ts) against the embedded SQLite store, on real files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import { SqliteStore } from "../src/store/index.ts";
import { reopenable } from "./contracts/reopenable.ts";
import { storeContract } from "./contracts/store-contract.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract({
  name: "SqliteStore",
  async create(quotas) {
    const dir = mkdtempSync(path.join(tmpdir(), "flick-store-contract-"));
    dirs.push(dir);
    return reopenable(() => new SqliteStore(dir, { quotas }));
  },
});
