import assert from "node:assert/strict";
import { test } from "node:test";
import { eligible, forwardTargets, provisionedShares, type ClusterMember } from "./cluster-placement.ts";

const node = (name: string, zone?: string, more: Record<string, string> = {}): ClusterMember =>
  ({ name, url: `http://${name}`, labels: { ...(zone === undefined ? {} : { zone }), ...more } });

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

test("pin and avoid decide which nodes may run a function", () => {
  assert.equal(eligible({ zone: "a" }, { zone: "a" }), true);
  assert.equal(eligible({ zone: "a" }, { zone: "b" }), false);
  assert.equal(eligible({}, { zone: "a" }), false, "a node without the label does not satisfy a pin");
  assert.equal(eligible({ zone: "a" }, undefined, { zone: "a" }), false);
  assert.equal(eligible({ zone: "a", gpu: "yes" }, { gpu: "yes" }, { zone: "b" }), true);
});

test("provisioned instances go one per zone before a zone gets a second", () => {
  const members = [node("a1", "a"), node("a2", "a"), node("b1", "b"), node("c1", "c")];
  for (const fn of ["t/one", "t/two", "u/three", "u/four", "v/five"]) {
    const three = provisionedShares(members, fn, 3);
    assert.equal(sum(three), 3);
    const perZone = (shares: Map<string, number>, zone: string) => members.filter((m) => m.labels["zone"] === zone).reduce((n, m) => n + (shares.get(m.name) ?? 0), 0);
    assert.deepEqual(["a", "b", "c"].map((z) => perZone(three, z)), [1, 1, 1], fn);
    // Six: two per zone, and zone a's two on its two nodes.
    const six = provisionedShares(members, fn, 6);
    assert.deepEqual(["a", "b", "c"].map((z) => perZone(six, z)), [2, 2, 2], fn);
    assert.equal(six.get("a1"), 1);
    assert.equal(six.get("a2"), 1);
  }
});

test("provisioned instances honour pins and avoids, and nodes without a zone are domains of their own", () => {
  const members = [node("a1", "a"), node("b1", "b"), node("b2", "b"), node("n1"), node("n2")];
  const pinned = provisionedShares(members, "t/f", 4, { zone: "b" });
  assert.deepEqual([...pinned.keys()].sort(), ["b1", "b2"]);
  assert.equal(sum(pinned), 4);
  const avoided = provisionedShares(members, "t/f", 8, undefined, { zone: "b" });
  assert.deepEqual([...avoided.keys()].sort(), ["a1", "n1", "n2"], "three domains: zone a and two nodes without a zone");
  assert.deepEqual([...avoided.values()].sort(), [2, 3, 3]);
  assert.equal(sum(avoided), 8);
  assert.equal(avoided.has("b1") || avoided.has("b2"), false);
  assert.equal(provisionedShares(members, "t/f", 3, { zone: "z" }).size, 0, "no eligible node: nothing placed");
  assert.equal(provisionedShares(members, "t/f", 0).size, 0);
});

test("every node computes the same shares whatever order it lists the members in, and a node that leaves moves only its own", () => {
  const members = [node("a1", "a"), node("a2", "a"), node("b1", "b"), node("b2", "b"), node("c1", "c"), node("c2", "c")];
  for (let f = 0; f < 50; f++) {
    const fn = `t/fn-${f}`;
    const shares = provisionedShares(members, fn, 3);
    assert.deepEqual(provisionedShares([...members].reverse(), fn, 3), shares, fn);
    // The node holding zone a's instance leaves: zone a's other node takes it; b and c keep theirs.
    const holder = members.find((m) => m.labels["zone"] === "a" && shares.has(m.name))!;
    const after = provisionedShares(members.filter((m) => m !== holder), fn, 3);
    for (const [name, n] of shares) if (name !== holder.name) assert.equal(after.get(name), n, `${fn}: ${name} keeps its instance`);
    assert.equal(sum(after), 3);
  }
});

test("functions spread over nodes: 300 functions with one provisioned instance each, no node gets more than twice its part", () => {
  const members = [node("n1"), node("n2"), node("n3")];
  const per = new Map<string, number>();
  for (let f = 0; f < 300; f++) for (const [name, n] of provisionedShares(members, `t/f${f}`, 1)) per.set(name, (per.get(name) ?? 0) + n);
  for (const m of members) assert.ok((per.get(m.name) ?? 0) > 50 && (per.get(m.name) ?? 0) < 200, `${m.name}: ${per.get(m.name)}`);
});

test("a node that may not run a function forwards to eligible nodes, warm ones first; a node that may forwards only what it has no room for", () => {
  const members = [node("a1", "a"), node("b1", "b"), node("b2", "b"), node("b3", "b")];
  const shares = provisionedShares(members, "t/f", 1, { zone: "b" });
  const warmNode = [...shares.keys()][0]!;
  const { targets, warm } = forwardTargets(members, "a1", "t/f", shares, { zone: "b" });
  assert.equal(warm, 1);
  assert.equal(targets[0]!.name, warmNode);
  assert.deepEqual(targets.map((t) => t.name).sort(), ["b1", "b2", "b3"]);
  assert.equal(forwardTargets(members, "a1", "t/f", shares, { zone: "b" }).overflow, false, "zone a sends every request on");
  // A zone-b node runs it itself, and sends on only what it has no room for: to the other zone-b nodes.
  const fromB = forwardTargets(members, "b1", "t/f", shares, { zone: "b" });
  assert.equal(fromB.overflow, true);
  assert.deepEqual(fromB.targets.map((t) => t.name).sort(), ["b2", "b3"]);
  assert.deepEqual(forwardTargets(members, "a1", "t/f", new Map(), { zone: "z" }), { targets: [], warm: 0, overflow: false }, "no node may: nothing to forward to");
  // Without provisioned instances every forwarder picks the same first node.
  const cold = forwardTargets(members, "a1", "t/g", new Map(), { zone: "b" });
  assert.equal(cold.warm, 0);
  assert.equal(forwardTargets([...members].reverse(), "a1", "t/g", new Map(), { zone: "b" }).targets[0]!.name, cold.targets[0]!.name);
});
