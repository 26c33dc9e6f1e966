export { createGatewayTransport, type GatewayTransportOptions } from "./gateway-transport.js";
export type { FetchFn } from "./http-post.js";
export { gatewayPath } from "./paths.js";
export type { GatewayWebSocket, WebSocketConstructor } from "./websocket-stream.js";
