// Threat: anyone, with no token, sends function paths the gateway cannot take apart —
// malformed percent-encoding, a bare `%`, a name longer than any, no name at all — to
// make the node throw (a 500, a stack per request in its output to fill a disk or hide
// other lines). The guarantee: a 400 or 404 JSON answer naming the problem, and nothing
// printed for it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { assertNodeServes, assertPlatformError, hostPids, httpCall } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
let pids: number[];

before(async () => {
  node = await startTestNode({ hosts: 2 });
  await deploySource(node.admin, "ok", `export default { fetch: () => new Response("ok") };`);
  await deploySource(node.admin, "secret", `export default { fetch: () => new Response("secret") };`, { private: true });
  pids = hostPids(node);
});
after(() => node.kill());

/** What the node printed while `run` ran. */
async function printedDuring(run: () => Promise<void>): Promise<string> {
  const before = node.output().length;
  await run();
  // A line for the last request would be written before its answer; one more request makes
  // sure anything the node printed for the others has reached our pipe too.
  await httpCall(`${node.url}/healthz`);
  return node.output().slice(before);
}

const malformed = ["%E0%A4%A", "%", "%ZZ", "%E0%A4%A/rest?x=1", "%/", "ok%", "%C0%80", "%ED%A0%80", "%FF", "a%2", "%%30"];

test("malformed percent-encoding in a function name is 400 bad_request, without a token, printing nothing", async () => {
  const printed = await printedDuring(async () => {
    for (const name of malformed) {
      for (const method of ["GET", "POST", "HEAD"]) {
        const answer = await httpCall(`${node.url}/fn/${name}`, { method, ...(method === "POST" ? { body: "x" } : {}) });
        if (method === "HEAD") {
          assert.equal(answer.status, 400, `${method} /fn/${name}`);
          assert.equal(answer.headers["x-flick-error"], "bad_request");
          continue;
        }
        const message = assertPlatformError(answer, 400, "bad_request", `${method} /fn/${name}`);
        assert.match(message, /not valid percent-encoding/, message);
      }
    }
  });
  assert.doesNotMatch(printed, /URIError|internal|\n\s+at |Error:/, printed);
});

test("unknown, empty and over-long names are 404 function_not_found; a private function's path is 401 before anything else", async () => {
  const cases = ["", "nope", "nope/deeper?q=%ZZ", "%00", "ok%2Fx", "x".repeat(8000), "%F0%9F%98%80", "..%2Fapi"];
  const printed = await printedDuring(async () => {
    for (const name of cases) {
      const answer = await httpCall(`${node.url}/fn/${name}`);
      assertPlatformError(answer, 404, "function_not_found", `/fn/${name.slice(0, 40)}`);
    }
    // Past the request line limit, Node itself refuses it: 431, and the node goes on.
    const tooLong = await httpCall(`${node.url}/fn/${"x".repeat(70_000)}`).catch((err: Error) => err);
    if (!(tooLong instanceof Error)) assert.equal(tooLong.status, 431);
    // A private function with a malformed rest of the path still wants a token first.
    assertPlatformError(await httpCall(`${node.url}/fn/secret/%ZZ`), 401, "unauthorized", "private");
  });
  assert.doesNotMatch(printed, /URIError|internal|\n\s+at |Error:/, printed);
});

test("after all of it the node and its hosts are the same and serve", async () => {
  await assertNodeServes(node, pids, "ok", "ok");
});
