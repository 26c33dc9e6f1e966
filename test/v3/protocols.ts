import { afterAll, beforeAll } from "vitest";
import { Etcd, type EtcdOptions, type Protocol } from "../../src/node.js";
import { type ClusterOptions, EtcdCluster } from "../harness/etcd.js";

/** The origin the test etcd allows through CORS (a browser page would be served from it). */
export const testOrigin = "http://127.0.0.1:5173";

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

export interface ProtocolSetup {
  /** The etcd processes. */
  etcd: EtcdCluster;
  /** What a client of this protocol connects to: etcd itself, or the proxy in front. */
  endpoints: string[];
  /** A client of this protocol, without the health probe. */
  client: Etcd;
}

/**
 * Starts etcd (and the protocol's proxy) before the tests of a describe block and stops
 * everything after them. Read the fields inside tests, once beforeAll has run.
 */
export function onProtocol(
  protocol: Protocol,
  cluster: ClusterOptions = {},
  client: Partial<EtcdOptions> = {},
): ProtocolSetup {
  const setup = {} as ProtocolSetup;
  let stopProxy: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    setup.etcd = await EtcdCluster.start({ corsOrigins: [testOrigin], ...cluster });
    const ep = await protocolEndpoints.start(protocol, setup.etcd.endpoints);
    stopProxy = ep.stop;
    setup.endpoints = ep.endpoints;
    setup.client = new Etcd({ endpoints: ep.endpoints, protocol, health: false, ...client });
  });
  afterAll(async () => {
    await setup.client?.close();
    await stopProxy?.();
    await setup.etcd?.stop();
  });
  return setup;
}
