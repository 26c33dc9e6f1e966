import type { Protocol } from "../../src/node.js";

/** How integration tests reach etcd on each protocol: directly, or through a proxy. */
export const protocolEndpoints = {
  names: ["grpc", "gateway"] as Protocol[],
  async start(
    _protocol: Protocol,
    etcdEndpoints: string[],
  ): Promise<{ endpoints: string[]; stop: () => Promise<void> }> {
    return { endpoints: etcdEndpoints, stop: async () => {} };
  },
};
