import { lazyTransport } from "./transport/lazy.js";
import type { ClientRuntime } from "./v3/watch-hub.js";
import { protocolWatches } from "./v3/watch-hubs.js";

/**
 * What a browser (or any fetch-only runtime) speaks: grpc-web and etcd's gateway. Each is
 * loaded on first use, so that an app's bundle holds the code of the one it speaks only.
 */
export const browserRuntime: ClientRuntime = {
  name: "browser",
  defaultProtocol: "grpc-web",
  transports: {
    "grpc-web": lazyTransport(
      async () => (await import("./transport/grpc-web.js")).grpcWebTransport,
    ),
    gateway: lazyTransport(async () => (await import("./transport/gateway.js")).gatewayTransport),
  },
  webSocket: typeof WebSocket === "undefined" ? undefined : WebSocket,
  watchHub: protocolWatches,
};
