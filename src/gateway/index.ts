export { createGateway, functionPrefix, reservedHeaderPrefix, type GatewayBackend, type GatewayOptions, type ResponseWriter, type RouteTarget } from "./gateway.ts";
