// Bad input to the admin API is the caller's 400, never a 500 with a stack trace in the
// node's output: bodies nested thousands deep, malformed percent-encoding in the path.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { limits } from "../src/model/index.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(node.admin, "target", `export default { fetch: () => new Response("ok") };`);
});
after(() => node.kill());

async function call(method: string, route: string, body?: string): Promise<{ status: number; code: string | undefined; message: string }> {
  const res = await fetch(`${node.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
  });
  const data = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: data.error?.code, message: data.error?.message ?? "" };
}

const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** Every admin API route that reads a body. */
const routesWithBodies: [string, string][] = [
  ["PUT", "/functions/target"],
  ["POST", "/functions/target/rollback"],
  ["POST", "/functions/target/scale"],
  ["POST", "/functions/target/invocations"],
  ["POST", "/functions/target/dlq/replay"],
  ["POST", "/tenants"],
  ["PATCH", "/tenants/default"],
];

test("a body nested 3,000 deep is 400 invalid_json 'too deeply nested' on every route, with nothing in the node's output", async () => {
  const before = node.output();
  const bodies = [
    nestedArrays(3000),
    nestedObjects(3000),
    // Deep inside fields that take any JSON: an async invocation's data was a stack overflow.
    `{"mode":"async","data":${nestedArrays(3000)}}`,
    `{"mode":"async","data":${nestedObjects(3000)}}`,
    `{"code":"x","env":${nestedObjects(3000)}}`,
  ];
  for (const [method, route] of routesWithBodies) {
    for (const body of bodies) {
      const answer = await call(method, route, body);
      assert.equal(answer.status, 400, `${method} ${route} ${body.slice(0, 30)}…: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, "invalid_json");
      assert.match(answer.message, new RegExp(`too deeply nested: arrays and objects nest more than ${limits.apiJsonMaxDepth} levels`));
    }
  }
  const printed = node.output().slice(before.length);
  assert.doesNotMatch(printed, /internal error|RangeError|Maximum call stack|\n\s+at /, printed);
});

test("nesting up to the limit is accepted", async () => {
  const depth = limits.apiJsonMaxDepth - 1; // the body object is one level
  const answer = await fetch(`${node.url}/api/v1/functions/target/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: `{"mode":"async","data":${nestedArrays(depth)}}`,
  });
  assert.equal(answer.status, 202, await answer.text());
  assert.equal((await call("POST", "/functions/target/invocations", `{"mode":"async","data":${nestedArrays(depth + 1)}}`)).code, "invalid_json");
});

test("malformed percent-encoding in an API path is 400 bad_request, on every route with a name or id", async () => {
  const before = node.output();
  const bad = "%E0%A4%A";
  const routes: [string, string, string?][] = [
    ["GET", `/functions/${bad}`],
    ["DELETE", `/functions/${bad}`],
    ["PUT", `/functions/${bad}`, `{"code":"x"}`],
    ["GET", `/functions/${bad}/versions`],
    ["GET", `/functions/${bad}/logs`],
    ["POST", `/functions/${bad}/rollback`, "{}"],
    ["POST", `/functions/${bad}/scale`, "{}"],
    ["POST", `/functions/${bad}/invocations`, `{"mode":"async"}`],
    ["GET", `/functions/${bad}/dlq`],
    ["PATCH", `/tenants/${bad}`, "{}"],
    ["GET", `/invocations/${bad}`],
    ["GET", "/functions/%ZZ"],
  ];
  for (const [method, route, body] of routes) {
    const answer = await call(method, route, body);
    assert.equal(answer.status, 400, `${method} ${route}: ${JSON.stringify(answer)}`);
    assert.equal(answer.code, "bad_request");
    assert.match(answer.message, /not valid percent-encoding/);
  }
  const printed = node.output().slice(before.length);
  assert.doesNotMatch(printed, /internal error|URIError/, printed);
});
