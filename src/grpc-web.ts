// The "etcd-web/grpc-web" entry: Etcd over grpc-web only, with no protocol loaded on demand.
// A page that speaks only grpc-web gets its smallest bundle here, in one chunk; "etcd-web"
// can speak every protocol, and loads each one's code when first used (another chunk).
import { grpcWebTransport } from "./transport/grpc-web.js";
import { EtcdClient, type EtcdOptions } from "./v3/client.js";
import type { ClientRuntime } from "./v3/watch-hub.js";
import { batchedWatches } from "./v3/watch-hubs.js";

export * from "./api.js";

const grpcWebRuntime: ClientRuntime = {
  name: "etcd-web/grpc-web",
  defaultProtocol: "grpc-web",
  transports: { "grpc-web": grpcWebTransport },
  watchHub: batchedWatches,
};

/** An etcd v3 client over gRPC-Web, through Envoy or etcd-web-bridge, in browsers and Node. */
export class Etcd extends EtcdClient {
  constructor(options: EtcdOptions) {
    super(options, grpcWebRuntime);
  }
}
