import { WebSocket as NodeWebSocket } from "ws";
import { browserRuntime } from "./runtime.browser.js";
import { grpcTransport } from "./transport/grpc.node.js";
import type { Runtime, WebSocketConstructor } from "./transport/protocol.js";

/** What Node speaks: everything a browser does, plus HTTP/2 gRPC, which is its default. */
export const nodeRuntime: Runtime = {
  name: "node",
  defaultProtocol: "grpc",
  transports: { ...browserRuntime.transports, grpc: grpcTransport },
  webSocket: (globalThis.WebSocket ?? NodeWebSocket) as unknown as WebSocketConstructor,
};
