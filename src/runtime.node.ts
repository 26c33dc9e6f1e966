import { WebSocket as NodeWebSocket } from "ws";
import { gatewayTransport } from "./transport/gateway.js";
import { grpcTransport } from "./transport/grpc.node.js";
import { grpcWebTransport } from "./transport/grpc-web.js";
import type { Runtime, WebSocketConstructor } from "./transport/protocol.js";

/**
 * What Node speaks: everything a browser does, plus HTTP/2 gRPC, which is its default. No
 * bundle size to save here, so every protocol is loaded up front.
 */
export const nodeRuntime: Runtime = {
  name: "node",
  defaultProtocol: "grpc",
  transports: { "grpc-web": grpcWebTransport, gateway: gatewayTransport, grpc: grpcTransport },
  webSocket: (globalThis.WebSocket ?? NodeWebSocket) as unknown as WebSocketConstructor,
};
