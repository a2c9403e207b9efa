// When the disk refuses writes, the control plane says so: 503 store_unavailable with
// Retry-After, never 500 internal, and a deploy cut short leaves no temporary files.
//
// The fault is real: the node runs under a file size limit (RLIMIT_FSIZE, `ulimit -f`), so a
// write past it fails with EFBIG in the kernel — what a full disk looks like to a process,
// file by file. It needs no root (a tmpfs would need `mount`), takes no disk space (filling a
// real disk would hurt everything else on a shared 2-core CI machine), and is exact: the
// limit is a byte offset, whatever the machine's speed. The node is started once without it
// first, so the runtime snapshot and keys (bigger than the limit) already exist and are only
// read; then everything it writes must fit under 256 KiB. A bundle bigger than that fails
// its file write; deploys one after another grow the database's WAL (a checkpoint starts
// only at 4 MiB) until a commit fails — SQLITE_IOERR, the same answer as SQLITE_FULL.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { bundleSource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

const limitBytes = 256 * 1024;
let node: TestNode;

before(async () => {
  const dataDir = tempDir();
  const first = await startTestNode({ dataDir, hosts: 1 });
  await first.kill();
  // Bundles of 32 KiB and more get a script form and a V8 code cache, written by the host;
  // this test is about what the store writes, so the big bundle below is a module (import.meta).
  node = await startTestNode({ dataDir, hosts: 1, fileSizeLimitBytes: limitBytes });
});
after(() => node.kill());

async function api(method: string, route: string, body: unknown): Promise<{ status: number; retryAfter: string | null; error: { code: string; message: string } | undefined }> {
  const res = await fetch(`${node.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), error: data.error };
}

/** Every file and folder under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    return statSync(file).isDirectory() ? [file, ...walk(file)] : [file];
  });
}

function assertUnavailable(answer: Awaited<ReturnType<typeof api>>, why: RegExp): void {
  assert.equal(answer.status, 503, JSON.stringify(answer));
  assert.equal(answer.error?.code, "store_unavailable");
  assert.equal(answer.retryAfter, "1");
  assert.match(answer.error!.message, why);
}

test("the node really runs under the file size limit", () => {
  const limits = readFileSync(`/proc/${node.process.pid}/limits`, "utf8");
  assert.match(limits, new RegExp(`^Max file size\\s+${limitBytes}\\s+${limitBytes}\\s+bytes`, "m"));
});

test("a bundle the disk cannot take is 503 store_unavailable, and its temp file is gone", async () => {
  const code = await bundleSource(`const pad = "${"x".repeat(limitBytes)}";\nexport default { fetch: () => new Response(import.meta.url + pad.length) };`);
  assertUnavailable(await api("PUT", "/functions/too-big", { code }), /file size limit \(EFBIG\)/);
  assert.deepEqual(walk(node.dataDir).filter((f) => f.endsWith(".tmp")), []);
  assert.equal((await fetch(`${node.url}/fn/too-big`)).status, 404, "nothing was deployed");
});

/**
 * Calls `attempt(0)`, `attempt(1)`, … until one is not `okStatus`. A refused transaction
 * takes no room in the WAL, so a smaller write may still fit after a bigger one failed:
 * each kind of write is driven to its own refusal.
 */
async function untilRefused(okStatus: number, attempt: (i: number) => Promise<Awaited<ReturnType<typeof api>>>): Promise<{ ok: number; refused: Awaited<ReturnType<typeof api>> }> {
  for (let i = 0; i < 300; i++) {
    const answer = await attempt(i);
    if (answer.status !== okStatus) return { ok: i, refused: answer };
  }
  throw new Error(`300 writes fit under a ${limitBytes}-byte limit`);
}

test("when the database cannot commit, deploys and tenant creation are 503 store_unavailable, and what was stored still serves", async () => {
  // Each deploy commits a few WAL frames (4 KiB pages); 256 KiB hold a few dozen.
  const deploys = await untilRefused(201, async (i) => api("PUT", `/functions/f${i}`, { code: await bundleSource(`export default { fetch: () => new Response("f${i}") };`) }));
  assert.ok(deploys.ok > 0, "deploys worked before the limit");
  assertUnavailable(deploys.refused, /the deploy of "f\d+" was not stored: .*\(SQLITE_(IOERR|FULL)\); nothing was changed/);
  const tenants = await untilRefused(201, (i) => api("POST", "/tenants", { name: `late-${i}` }));
  assertUnavailable(tenants.refused, new RegExp(`tenant "late-${tenants.ok}" was not stored`));

  // Reads and function traffic do not need the disk.
  assert.equal(await (await fetch(`${node.url}/fn/f0`)).text(), "f0");
  assert.equal((await node.admin.listTenants()).some((t) => t.name === `late-${tenants.ok}`), false);
  assert.deepEqual(walk(node.dataDir).filter((f) => f.endsWith(".tmp")), []);
  assert.doesNotMatch(node.output(), /internal error/);
});
