export {
  createGateway, functionPrefix, type AccessEntry, reservedHeaderPrefix, splitTarget, type GatewayBackend, type GatewayOptions, type ResponseWriter, type RouteTarget, type Target,
} from "./gateway.ts";
export { targetOf, type SplitRoute } from "./traffic-split.ts";
export { forwardedByHeader, forwardedToHeader, watchConnect, type ForwardTarget, type Forwarding } from "./forward.ts";
