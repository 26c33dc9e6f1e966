// The "etcd-web/gateway" entry: Etcd over etcd's JSON gateway only, with no protocol loaded on
// demand (see grpc-web.ts). Watches use globalThis.WebSocket unless options.webSocket is given.
import { gatewayTransport } from "./transport/gateway.js";
import type { Runtime } from "./transport/protocol.js";
import { EtcdClient, type EtcdOptions } from "./v3/client.js";

export * from "./api.js";

const gatewayRuntime: Runtime = {
  name: "etcd-web/gateway",
  defaultProtocol: "gateway",
  transports: { gateway: gatewayTransport },
  webSocket: typeof WebSocket === "undefined" ? undefined : WebSocket,
};

/** An etcd v3 client over etcd's own JSON gateway (etcd needs --cors for the page's origin). */
export class Etcd extends EtcdClient {
  constructor(options: EtcdOptions) {
    super(options, gatewayRuntime);
  }
}
