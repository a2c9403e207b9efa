/**
 * What this node makes of the cluster's membership for one function: how many of its
 * provisioned instances it keeps warm, and where its requests go when this node may not
 * run it (control/cluster-placement.ts decides both). A single node has no view: it keeps
 * every provisioned instance and forwards nothing.
 */
import { forwardTargets, provisionedShares, type ClusterMember } from "../control/index.ts";
import type { Forwarding } from "../gateway/index.ts";
import { defaultScale, type FunctionRecord } from "../model/index.ts";

export class ClusterView {
  readonly self: string;
  readonly members: readonly ClusterMember[];

  constructor(self: string, members: readonly ClusterMember[]) {
    this.self = self;
    this.members = members;
  }

  private sharesOf(record: FunctionRecord): Map<string, number> {
    const scale = record.scale ?? defaultScale;
    return provisionedShares(this.members, `${record.tenant}/${record.name}`, scale.minInstances, scale.pin, scale.avoid);
  }

  /** This node's part of the function's provisioned instances. */
  minInstancesOf(record: FunctionRecord): number {
    return this.sharesOf(record).get(this.self) ?? 0;
  }

  /** Where the function's requests go from here (all, or those it has no room for), or undefined when no other node may run it. */
  forwardingOf(record: FunctionRecord): Forwarding | undefined {
    const scale = record.scale ?? defaultScale;
    const { targets, warm, overflow } = forwardTargets(this.members, this.self, `${record.tenant}/${record.name}`, this.sharesOf(record), scale.pin, scale.avoid);
    return targets.length === 0 ? undefined : { targets: targets.map((t) => ({ name: t.name, url: t.url })), warm, ...(overflow ? { overflow } : {}) };
  }
}

/** Whether two forwardings send requests to the same nodes in the same order. */
export function sameForwarding(a: Forwarding | undefined, b: Forwarding | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.warm === b.warm && a.overflow === b.overflow && a.targets.length === b.targets.length && a.targets.every((t, i) => t.name === b.targets[i]!.name && t.url === b.targets[i]!.url);
}
