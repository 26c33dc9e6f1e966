// What the demo server tells the page: which protocols it can offer and where each one's
// endpoints are. Served as /demo-config.json (demo/server/plugin.ts), so the built page
// needs no rebuild to point elsewhere.

export type ProtocolName = "grpc-web" | "gateway" | "v2";

export const protocolNames: readonly ProtocolName[] = ["grpc-web", "gateway", "v2"];

/** One endpoint as the page shows it: a member's name and the URL the client calls. */
export interface DemoEndpoint {
  /** The etcd member behind it, e.g. "m0", or the proxy's name. */
  name: string;
  /** Absolute, or a path on the page's own origin (the bridge's mount point). */
  url: string;
}

export interface DemoConfig {
  /** The endpoints of each protocol the page can speak; a missing protocol is not offered. */
  protocols: Partial<Record<ProtocolName, DemoEndpoint[]>>;
  /** The health probe's interval, in ms. */
  healthIntervalMs: number;
  /** Where the bridge's counters are served (same origin), when the bridge runs here. */
  bridgeStatsPath?: string | undefined;
}

/** The bridge counters the demo server serves, summed over its per-member bridges. */
export interface BridgeStatsView {
  openCalls: number;
  openUpstreamStreams: number;
  calls: number;
  failedCalls: number;
}
