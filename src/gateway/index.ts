export { createGateway, functionPrefix, type GatewayBackend, type ResponseWriter, type RouteTarget } from "./gateway.ts";
