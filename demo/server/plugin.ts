// The demo's server side, as a Vite plugin for `vite` (dev) and `vite preview` (the built
// page): one etcd-web bridge per etcd member, the page's /demo-config.json, and the
// bridges' counters. Node only; Vite bundles it with demo/vite.config.ts.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connect, Plugin } from "vite";
import { type Bridge, createBridge } from "../../src/bridge/index.js";
import type { BridgeStatsView, DemoConfig } from "../src/config.js";

export interface DemoMember {
  name: string;
  /** The member's client URL, e.g. http://127.0.0.1:2379. */
  url: string;
}

export interface DemoServerOptions {
  /** etcd members. Each gets its own bridge under /etcd/<name>. */
  members: readonly DemoMember[];
  /** The members serve the v2 API (--enable-v2=true). */
  v2: boolean;
  /**
   * gRPC-Web proxies to use instead of the bridge (Envoy in docker-compose). The members are
   * then not assumed reachable from the page unless listed too.
   */
  grpcWebUrls?: readonly string[] | undefined;
  /** The client's health probe interval, in ms. */
  healthIntervalMs: number;
  /** Where each failed bridge call is logged; default console.error. */
  log?: ((line: string) => void) | undefined;
}

export const configPath = "/demo-config.json";
export const statsPath = "/__demo/bridge-stats";

/**
 * Reads the options from the environment, as scripts/demo.mjs and e2e/server.mjs set it:
 *   ETCD_WEB_DEMO_MEMBERS  "m0=http://127.0.0.1:2379,m1=..." (default: one member on 2379)
 *   ETCD_WEB_DEMO_V2       "1" when the members run with --enable-v2=true
 *   ETCD_WEB_DEMO_HEALTH_MS  the health probe interval (default 2000)
 *   VITE_ETCD_GRPC_WEB_URL a gRPC-Web proxy (Envoy), e.g. in docker-compose; no bridge then
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv): DemoServerOptions {
  const proxies = list(env.VITE_ETCD_GRPC_WEB_URL);
  const members = list(env.ETCD_WEB_DEMO_MEMBERS).map((entry, i) => {
    const [name, url] = entry.includes("=") ? entry.split("=", 2) : [`m${i}`, entry];
    return { name: name ?? `m${i}`, url: url ?? "" };
  });
  return {
    // With a proxy and no members named, the members sit behind the proxy only.
    members:
      members.length || proxies.length ? members : [{ name: "m0", url: "http://127.0.0.1:2379" }],
    v2: env.ETCD_WEB_DEMO_V2 === "1",
    grpcWebUrls: proxies.length ? proxies : undefined,
    healthIntervalMs: Number(env.ETCD_WEB_DEMO_HEALTH_MS) || 2000,
  };
}

export function demoServer(options: DemoServerOptions): Plugin {
  for (const m of options.members) {
    if (!/^[\w-]+$/.test(m.name)) throw new Error(`demo: member name "${m.name}" must be a word`);
  }
  const mount = (
    middlewares: Connect.Server,
    httpServer: { once(e: "close", f: () => void): unknown } | null,
  ) => {
    const bridges = new Map<string, Bridge>();
    if (!options.grpcWebUrls) {
      for (const m of options.members) {
        const prefix = `/etcd/${m.name}`;
        const log = options.log ?? ((line: string) => console.error(line));
        bridges.set(
          prefix,
          createBridge({
            etcd: [m.url],
            pathPrefix: prefix,
            allowSameOrigin: true,
            log: (line) => log(`[${m.name}] ${line}`),
          }),
        );
      }
    }
    const config = pageConfig(options, bridges.size > 0);
    middlewares.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
      const path = (req.url ?? "").split("?", 1)[0] ?? "";
      if (path === configPath) return json(res, config);
      if (path === statsPath && bridges.size > 0) return json(res, sum([...bridges.values()]));
      const bridge = bridges.get(path.split("/", 3).join("/"));
      if (bridge) return bridge.handle(req, res);
      next();
    });
    httpServer?.once("close", () => {
      for (const b of bridges.values()) b.close();
    });
  };
  return {
    name: "etcd-web-demo",
    configureServer(server) {
      mount(server.middlewares, server.httpServer);
    },
    configurePreviewServer(server) {
      mount(server.middlewares, server.httpServer);
    },
  };
}

function pageConfig(o: DemoServerOptions, bridged: boolean): DemoConfig {
  const members = o.members.map((m) => ({ name: m.name, url: m.url }));
  return {
    protocols: {
      "grpc-web": bridged
        ? o.members.map((m) => ({ name: m.name, url: `/etcd/${m.name}` }))
        : (o.grpcWebUrls ?? []).map((url, i) => ({ name: `proxy ${i + 1}`, url })),
      ...(members.length ? { gateway: members } : {}),
      ...(members.length && o.v2 ? { v2: members } : {}),
    },
    healthIntervalMs: o.healthIntervalMs,
    bridgeStatsPath: bridged ? statsPath : undefined,
  };
}

function sum(bridges: Bridge[]): BridgeStatsView {
  const total = { openCalls: 0, openUpstreamStreams: 0, calls: 0, failedCalls: 0 };
  for (const b of bridges) {
    const s = b.stats();
    total.openCalls += s.openCalls;
    total.openUpstreamStreams += s.openUpstreamStreams;
    total.calls += s.calls;
    total.failedCalls += s.failedCalls;
  }
  return total;
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function list(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
