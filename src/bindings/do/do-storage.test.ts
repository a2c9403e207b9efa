import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import test from "node:test";
import { alarmBytes, DoStorage, entryBytes, tenantOf } from "./do-storage.ts";

const bytes = (n: number) => new Uint8Array(n).fill(1);

/** Every tenant's bytes counted again from the entries themselves. */
function recount(dataDir: string): Map<string, number> {
  const db = new DatabaseSync(path.join(dataDir, "do", "storage.db"), { readOnly: true });
  const sums = new Map<string, number>();
  const add = (ns: string, n: number) => sums.set(tenantOf(ns), (sums.get(tenantOf(ns)) ?? 0) + n);
  for (const row of db.prepare("SELECT ns, key, value FROM entries").all()) add(String(row["ns"]), entryBytes(String(row["key"]), row["value"] as Uint8Array));
  for (const row of db.prepare("SELECT ns FROM alarms").all()) add(String(row["ns"]), alarmBytes);
  db.close();
  return sums;
}

test("each tenant's bytes follow its puts, overwrites, deletes, deleteAll and a function's removal, and match a recount", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-do-bytes-"));
  const s = new DoStorage(dir);
  const a = { ns: "t/fn/Box", id: "1" };
  const other = { ns: "t/fn/Other", id: "1" };
  const prefixed = { ns: "t/fn-b/Box", id: "1" };
  const longer = { ns: "t/fnx/Box", id: "1" };
  const u = { ns: "u/fn/Box", id: "1" };
  // A key of multi-byte characters counts its UTF-8 bytes.
  assert.equal(await s.write(a, [["k", bytes(10)], ["ключ", bytes(20)]]), 1 + 10 + 8 + 20);
  assert.equal(await s.write(a, [["k", bytes(4)]]), -6, "an overwrite counts the difference");
  assert.equal(await s.write(a, [["ключ", null], ["missing", null]]), -28, "a delete frees its key and value; a missing key frees nothing");
  await s.write(other, [["x", bytes(100)]]);
  await s.write(prefixed, [["y", bytes(50)]]);
  await s.write(longer, [["z", bytes(70)]]);
  await s.write(u, [["w", bytes(7)]]);
  assert.deepEqual(await Promise.all([s.tenantBytes("t"), s.tenantBytes("u"), s.tenantBytes("nobody")]), [5 + 101 + 51 + 71, 8, 0]);
  // Alarms: a new one counts, setting it again does not, deleting or running it frees it.
  assert.equal(await s.setAlarm(other, "", 1000), alarmBytes);
  assert.equal(await s.setAlarm(other, "", 2000), 0);
  assert.equal(await s.deleteAll(other), -101 - alarmBytes, "deleteAll takes the alarm too");
  assert.equal(await s.deleteAlarm(other), 0);
  await s.setAlarm(u, "", 1000);
  assert.equal(await s.alarmDone({ ...u, name: "", at: 999, attempts: 0 }), 0, "an alarm set again meanwhile stays");
  assert.equal(await s.alarmDone({ ...u, name: "", at: 1000, attempts: 0 }), -alarmBytes);
  await s.setAlarm(u, "", 5000);
  assert.equal(await s.deleteAlarm(u), -alarmBytes);
  await s.write(other, [["x", bytes(1)]]);
  await s.setAlarm(a, "", 1000);
  // A function with an alarm and no entries is one too.
  await s.setAlarm({ ns: "v/alarmed/Box", id: "1" }, "", 1000);
  assert.deepEqual(s.functions().sort(), [["t", "fn"], ["t", "fn-b"], ["t", "fnx"], ["u", "fn"], ["v", "alarmed"]]);
  await s.deleteAlarm({ ns: "v/alarmed/Box", id: "1" });
  // fn's two classes go; fn-b and fnx, whose names start the same, stay.
  assert.equal(await s.removeFunction("t", "fn"), -(5 + 2 + alarmBytes), "its entries and its alarm");
  assert.equal(await s.getAlarm(a), null);
  assert.deepEqual(s.list(prefixed, { start: "", startAfter: "", end: "", prefix: "", reverse: false, limit: 10 }).map(([k]) => k), ["y"]);
  assert.deepEqual(s.list(longer, { start: "", startAfter: "", end: "", prefix: "", reverse: false, limit: 10 }).map(([k]) => k), ["z"]);
  assert.equal(s.tenantBytes("t"), 51 + 71);
  await s.close();
  assert.deepEqual(recount(dir), new Map([["t", 51 + 71], ["u", 8]]));
});

test("a storage file from before the counts is counted once when it opens", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-do-bytes-"));
  mkdirSync(path.join(dir, "do"));
  const old = new DatabaseSync(path.join(dir, "do", "storage.db"));
  old.exec("CREATE TABLE entries (ns TEXT NOT NULL, object TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, object, key))");
  const put = old.prepare("INSERT INTO entries VALUES (?, ?, ?, ?)");
  put.run("t/fn/Box", "1", "a", bytes(10));
  put.run("t/fn/Box", "2", "é", bytes(5));
  put.run("u/g/Room", "1", "b", bytes(3));
  old.exec("CREATE TABLE alarms (ns TEXT NOT NULL, object TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, object))");
  old.exec("INSERT INTO alarms VALUES ('v/h/Cls', '9', '', 1000, 0)");
  old.close();
  const s = new DoStorage(dir);
  assert.deepEqual([s.tenantBytes("t"), s.tenantBytes("u"), s.tenantBytes("v")], [11 + 7, 4, alarmBytes]);
  await s.write({ ns: "t/fn/Box", id: "1" }, [["a", null]]);
  await s.close();
  // Opened again, the counts are read, not made twice.
  const again = new DoStorage(dir);
  assert.deepEqual([again.tenantBytes("t"), again.tenantBytes("u")], [7, 4]);
  await again.close();
});
