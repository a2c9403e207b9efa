/**
 * Placement across the nodes of a cluster (docs/cluster.md, "Placement and forwarding").
 * Pure: every node computes the same answer from the same membership list, so no node has
 * to be elected to decide and the loss of any one changes only its own share.
 *
 * - **Who may run a function:** a node whose labels satisfy the function's pin and avoid
 *   (`flick scale --pin zone=b`), the same hard rule as for hosts (placement.ts).
 * - **Provisioned instances** (`minInstances`) are dealt over the eligible nodes' zones
 *   first (the `zone` label is the fault domain; a node without one is a domain of its
 *   own), then over the nodes within a zone: three instances over zones a, b and c get one
 *   each. The order of zones and of nodes is a rendezvous hash of the function's name, so
 *   functions do not all land on the same node, and a node that leaves moves only its own
 *   instances.
 * - **Forwarding:** a node that may not run a function forwards its requests to one that
 *   may, first to those holding its provisioned instances (warm), then in rendezvous order
 *   (so every forwarder picks the same node and keeps it warm). A node that may run it
 *   forwards, in the same order, only what it has no room for.
 */
import type { Labels } from "./placement.ts";

/** What placement needs of a node (model NodeInfo has more). */
export interface ClusterMember {
  name: string;
  url: string;
  labels: Labels;
}

/** The label that names a node's fault domain. */
export const faultDomainLabel = "zone";

/** Whether a node with `labels` may run a function pinned to `pin` and kept from `avoid`. */
export function eligible(labels: Labels, pin?: Labels, avoid?: Labels): boolean {
  if (pin !== undefined) for (const key in pin) if (labels[key] !== pin[key]) return false;
  if (avoid !== undefined) for (const key in avoid) if (labels[key] === avoid[key]) return false;
  return true;
}

/** FNV-1a, 32 bits: a stable, cheap score for rendezvous hashing (not for security). */
function score(fn: string, name: string): number {
  let h = 0x811c9dc5;
  const s = `${fn}\u0000${name}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final mix, so names that differ in their last character do not score next to each other.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** Highest score first; names break ties, so every node sorts alike. */
function byScore<T>(fn: string, items: readonly T[], nameOf: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, name: nameOf(item), s: score(fn, nameOf(item)) }))
    .sort((a, b) => b.s - a.s || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((x) => x.item);
}

/**
 * How many of `fn`'s `count` provisioned instances each node keeps warm: only eligible
 * nodes appear; none when no node is eligible.
 */
export function provisionedShares(members: readonly ClusterMember[], fn: string, count: number, pin?: Labels, avoid?: Labels): Map<string, number> {
  const shares = new Map<string, number>();
  if (count <= 0) return shares;
  const zones = new Map<string, ClusterMember[]>();
  for (const m of members) {
    if (!eligible(m.labels, pin, avoid)) continue;
    const zone = m.labels[faultDomainLabel] ?? `\u0000${m.name}`;
    const list = zones.get(zone);
    if (list === undefined) zones.set(zone, [m]);
    else list.push(m);
  }
  if (zones.size === 0) return shares;
  const order = byScore(fn, [...zones.keys()], (z) => z).map((z) => byScore(fn, zones.get(z)!, (m) => m.name));
  for (let i = 0; i < count; i++) {
    const zone = order[i % order.length]!;
    const node = zone[Math.floor(i / order.length) % zone.length]!;
    shares.set(node.name, (shares.get(node.name) ?? 0) + 1);
  }
  return shares;
}

/**
 * Where node `self` sends `fn`'s requests: the other eligible nodes, those keeping
 * provisioned instances first (`warm` of them), each part in rendezvous order. When `self`
 * may not run the function it sends every request there; when it may, only those it has no
 * room for (`overflow`). Empty when no other node may run it.
 */
export function forwardTargets(
  members: readonly ClusterMember[],
  self: string,
  fn: string,
  shares: ReadonlyMap<string, number>,
  pin?: Labels,
  avoid?: Labels,
): { targets: ClusterMember[]; warm: number; overflow: boolean } {
  const me = members.find((m) => m.name === self);
  const overflow = me === undefined || eligible(me.labels, pin, avoid);
  const others = byScore(fn, members.filter((m) => m.name !== self && eligible(m.labels, pin, avoid)), (m) => m.name);
  const warm = others.filter((m) => (shares.get(m.name) ?? 0) > 0);
  return { targets: [...warm, ...others.filter((m) => (shares.get(m.name) ?? 0) === 0)], warm: warm.length, overflow };
}
