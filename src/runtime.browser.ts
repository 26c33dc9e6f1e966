import { gatewayTransport } from "./transport/gateway.js";
import { grpcWebTransport } from "./transport/grpc-web.js";
import type { Runtime } from "./transport/protocol.js";

/** What a browser (or any fetch-only runtime) speaks: grpc-web and etcd's gateway. */
export const browserRuntime: Runtime = {
  name: "browser",
  defaultProtocol: "grpc-web",
  transports: { "grpc-web": grpcWebTransport, gateway: gatewayTransport },
  webSocket: typeof WebSocket === "undefined" ? undefined : WebSocket,
};
