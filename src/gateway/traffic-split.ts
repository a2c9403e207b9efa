/**
 * Which version of a function a request runs. Without a split, the live one; with one,
 * each request draws independently with the versions' percentages as weights (as Lambda
 * alias routing and Workers gradual deployments do): no stickiness, so a client may see
 * both versions in a row. `x-flick-version` tells it which answered.
 */
import type { Forwarding } from "./forward.ts";
import type { RouteTarget } from "./gateway.ts";

/** What a function's routing needs: its live version and, in a split, every version's share. */
export interface SplitRoute {
  name: string;
  tenant: string;
  private: boolean;
  fn: string;
  key: string;
  version: string;
  split?: readonly { version: string; key: string; percent: number }[];
  /** In a cluster, when this node may not run the function: where its requests go. */
  forward?: Forwarding;
}

/** The target for one request: a version drawn by the split (`random` in [0, 1)), or the one previewed. */
export function targetOf(route: SplitRoute, previewed?: string, random: number = Math.random()): RouteTarget {
  const target = drawn(route, previewed, random);
  if (route.forward !== undefined) target.forward = route.forward;
  return target;
}

function drawn(route: SplitRoute, previewed: string | undefined, random: number): RouteTarget {
  if (previewed !== undefined) return { name: route.name, tenant: route.tenant, private: true, version: previewed, key: `${route.fn}@${previewed}` };
  if (route.split !== undefined) {
    let point = random * 100;
    for (const share of route.split) {
      point -= share.percent;
      if (point < 0) return { name: route.name, tenant: route.tenant, private: route.private, version: share.version, key: share.key };
    }
  }
  return { name: route.name, tenant: route.tenant, private: route.private, version: route.version, key: route.key };
}
