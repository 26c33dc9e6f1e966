// The "etcd-web/gateway" entry: Etcd over etcd's JSON gateway only, with no protocol loaded on
// demand (see grpc-web.ts). Watches use globalThis.WebSocket unless options.webSocket is given.
import { gatewayTransport } from "./transport/gateway.js";
import { EtcdClient, type EtcdOptions } from "./v3/client.js";
import type { ClientRuntime } from "./v3/watch-hub.js";
import { protocolWatches } from "./v3/watch-hubs.js";

export * from "./api.js";

const gatewayRuntime: ClientRuntime = {
  name: "etcd-web/gateway",
  defaultProtocol: "gateway",
  transports: { gateway: gatewayTransport },
  watchHub: protocolWatches,
  webSocket: typeof WebSocket === "undefined" ? undefined : WebSocket,
};

/** An etcd v3 client over etcd's own JSON gateway (etcd needs --cors for the page's origin). */
export class Etcd extends EtcdClient {
  constructor(options: EtcdOptions) {
    super(options, gatewayRuntime);
  }
}
