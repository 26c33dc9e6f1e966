import { InvalidInputError } from "./errors/etcd-error.js";
import { isMissing } from "./optional-dependency.node.js";
import { gatewayTransport } from "./transport/gateway.js";
import { grpcTransport } from "./transport/grpc.node.js";
import { grpcWebTransport } from "./transport/grpc-web.js";
import type { WebSocketConstructor } from "./transport/protocol.js";
import type { ClientRuntime } from "./v3/watch-hub.js";
import { protocolWatches } from "./v3/watch-hubs.js";

/** Stands in for a WebSocket where there is none: a gateway watch fails saying what to do. */
const noWebSocket = class {
  constructor() {
    throw new InvalidInputError(
      'a "gateway" watch in Node 20 needs a WebSocket: npm install ws@8, or pass the webSocket option (Node 22 has one built in)',
      "webSocket",
    );
  }
} as unknown as WebSocketConstructor;

/** Node 22's own WebSocket, else the `ws` package: an optional peer dependency for Node 20. */
async function nodeWebSocket(): Promise<WebSocketConstructor> {
  const builtIn = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (builtIn) return builtIn;
  try {
    return (await import("ws")).WebSocket as unknown as WebSocketConstructor;
  } catch (e) {
    if (isMissing(e, "ws")) return noWebSocket;
    throw e;
  }
}

/**
 * What Node speaks: everything a browser does, plus HTTP/2 gRPC, which is its default. No
 * bundle size to save here, so every protocol is loaded up front.
 */
export const nodeRuntime: ClientRuntime = {
  name: "node",
  defaultProtocol: "grpc",
  transports: { "grpc-web": grpcWebTransport, gateway: gatewayTransport, grpc: grpcTransport },
  webSocket: await nodeWebSocket(),
  watchHub: protocolWatches,
};
