// The Node entry of etcd-web: the browser entry's API, plus HTTP/2 gRPC (the default here).
import { nodeRuntime } from "./runtime.node.js";
import { EtcdClient, type EtcdOptions } from "./v3/client.js";

export * from "./api.js";

/** An etcd v3 client. In Node it speaks "grpc" (the default), "grpc-web" or "gateway". */
export class Etcd extends EtcdClient {
  constructor(options: EtcdOptions) {
    super(options, nodeRuntime);
  }
}
