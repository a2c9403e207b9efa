// The KvStore contract (test/contracts/kv-store-contract.ts) against the SQLite backend, on real files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import { SqliteKv } from "../src/bindings/kv/sqlite-kv.ts";
import { kvStoreContract } from "./contracts/kv-store-contract.ts";
import { reopenable } from "./contracts/reopenable.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

kvStoreContract({
  name: "SqliteKv",
  async create() {
    const dir = mkdtempSync(path.join(tmpdir(), "flick-kv-contract-"));
    dirs.push(dir);
    return reopenable(() => new SqliteKv(dir));
  },
});
