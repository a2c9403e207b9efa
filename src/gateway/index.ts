export { createGateway, functionPrefix, type GatewayBackend, type RouteTarget } from "./gateway.ts";
