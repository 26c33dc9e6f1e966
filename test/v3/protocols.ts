import { afterAll, beforeAll } from "vitest";
import { startBridge } from "../../src/bridge/index.js";
import { Etcd, type EtcdOptions, type Protocol } from "../../src/node.js";
import { type ClusterOptions, EtcdCluster } from "../harness/etcd.js";

/** The origin the test etcd allows through CORS (a browser page would be served from it). */
export const testOrigin = "http://127.0.0.1:5173";

/**
 * How integration tests reach etcd on each protocol: "grpc" and "gateway" talk to the members
 * themselves; "grpc-web" goes through one etcd-web-bridge per member, so that the client's own
 * failover between endpoints is what is tested.
 */
export const protocolEndpoints = {
  names: ["grpc", "gateway", "grpc-web"] as Protocol[],
  async start(protocol: Protocol, etcdEndpoints: string[]): Promise<ProxyEndpoints> {
    if (protocol !== "grpc-web") {
      return { endpoints: etcdEndpoints, stop: async () => {}, restart: async () => false };
    }
    // The v3 tests call every etcd method through the bridge, as a trusted setup would
    // (test/bridge/policy.test.ts checks the closed default).
    const bridge = (url: string, listen = "127.0.0.1:0") =>
      startBridge({
        listen,
        etcd: [url],
        allowOrigin: [testOrigin],
        allowAllMethods: true,
        log: () => {},
      });
    const bridges = await Promise.all(etcdEndpoints.map((url) => bridge(url)));
    return {
      endpoints: bridges.map((b) => b.url),
      stop: async () => {
        await Promise.all(bridges.map((b) => b.close()));
      },
      restart: async (i) => {
        const old = bridges[i];
        const url = etcdEndpoints[i];
        if (!old || !url) return false;
        await old.close();
        bridges[i] = await bridge(url, new URL(old.url).host);
        return true;
      },
    };
  },
};

export interface ProxyEndpoints {
  endpoints: string[];
  stop(): Promise<void>;
  /** Restarts the proxy in front of member i on the same port; false when there is none. */
  restart(i: number): Promise<boolean>;
}

export interface ProtocolSetup {
  /** The etcd processes. */
  etcd: EtcdCluster;
  /** What a client of this protocol connects to: etcd itself, or the proxy in front. */
  endpoints: string[];
  /** A client of this protocol, without the health probe. */
  client: Etcd;
  /** Restarts the proxy in front of member i; false when the protocol has none. */
  restartProxy(i: number): Promise<boolean>;
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
    setup.restartProxy = ep.restart;
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
