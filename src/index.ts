// The browser entry of etcd-web: Etcd over grpc-web and etcd's gateway. Node resolves
// "etcd-web" to node.ts instead, which adds the grpc protocol. Nothing here imports node:*.
import { browserRuntime } from "./runtime.browser.js";
import { EtcdClient, type EtcdOptions } from "./v3/client.js";

export * from "./api.js";

/** An etcd v3 client. In a browser it speaks "grpc-web" (the default) or "gateway". */
export class Etcd extends EtcdClient {
  constructor(options: EtcdOptions) {
    super(options, browserRuntime);
  }
}
