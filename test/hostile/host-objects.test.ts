// Threat: a host object (isolated-vm Reference, Callback, ExternalCopy or any host
// function) left reachable from the guest. We walk every object reachable from the
// guest's global — property values, getters, setters, prototypes — and compare the
// native functions found with those of a blank isolate: anything native that a blank
// isolate does not have would be a door to the host.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import ivm from "isolated-vm";
import { startTestNode, type TestNode } from "../support/node-process.ts";

// Runs inside an isolate (the function, and a blank one for the baseline). Returns the
// paths of native functions and how many objects it visited.
const walker = `(() => {
  const toString = Function.prototype.toString;
  const seen = new Set();
  const queue = [[globalThis, "globalThis"]];
  const native = [];
  const suspicious = [];
  while (queue.length > 0) {
    const [value, path] = queue.shift();
    if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value)) continue;
    seen.add(value);
    if (typeof value === "function") {
      let source = "";
      try { source = toString.call(value); } catch { source = "<unprintable>"; }
      if (source.includes("[native code]")) native.push([String(value.name), path]);
    }
    let tag = "";
    try { tag = Object.prototype.toString.call(value); } catch {}
    if (/Reference|Callback|ExternalCopy|Isolate|Context/.test(tag)) suspicious.push(path + " " + tag);
    const proto = Object.getPrototypeOf(value);
    queue.push([proto, path + ".__proto__"]);
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d === undefined) continue;
      const name = path + "." + String(key);
      if ("value" in d) queue.push([d.value, name]);
      if (d.get) queue.push([d.get, name + "<get>"]);
      if (d.set) queue.push([d.set, name + "<set>"]);
    }
  }
  return JSON.stringify({ native, suspicious, visited: seen.size });
})()`;

interface Walk {
  /** [name, path where first reached] of every native function. */
  native: [string, string][];
  suspicious: string[];
  visited: number;
}

let node: TestNode;
let guest: Walk;
let blank: Walk;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("walker", { code: `export default { fetch() { return new Response(${walker}); } };` });
  guest = (await (await fetch(`${node.url}/fn/walker`)).json()) as Walk;
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  blank = JSON.parse(isolate.createContextSync().evalSync(walker) as string) as Walk;
  isolate.dispose();
});
after(() => node.kill());

test("the walk covers the whole Web platform surface", () => {
  assert.ok(guest.visited > blank.visited + 150, `visited ${guest.visited} objects (a blank isolate has ${blank.visited})`);
});

test("no object reachable from the guest global is an isolated-vm handle", () => {
  assert.deepEqual(guest.suspicious, []);
});

test("every native function reachable from the guest exists in a blank isolate too", () => {
  // Paths differ (the runtime re-exposes builtins elsewhere), so compare by the builtins'
  // own names, and count the nameless ones: a host callback would be one more of them.
  const count = (walk: Walk) => {
    const counts = new Map<string, number>();
    for (const [name] of walk.native) counts.set(name, (counts.get(name) ?? 0) + 1);
    return counts;
  };
  const inBlank = count(blank);
  const extra = guest.native.filter(([name]) => !inBlank.has(name));
  assert.deepEqual(extra, [], "native functions a blank isolate does not have");
  assert.ok((count(guest).get("") ?? 0) <= (inBlank.get("") ?? 0), "more nameless native functions than a blank isolate has");
});
