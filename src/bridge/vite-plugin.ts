import type { Connect, Plugin } from "vite";
import { type Bridge, type BridgeOptions, createBridge } from "./bridge.js";

export interface EtcdBridgePluginOptions
  extends Omit<BridgeOptions, "pathPrefix" | "allowSameOrigin"> {
  /** Where the bridge is mounted on the dev server; default "/etcd". */
  prefix?: string | undefined;
}

/**
 * Mounts etcd-web-bridge on the Vite dev server (and `vite preview`), so a page reaches etcd
 * on its own origin:
 *
 *   new Etcd({ endpoints: [location.origin + "/etcd"] })
 *
 * Pages of the dev server itself are allowed; Vite's own host check (server.allowedHosts,
 * Vite 6.0.9 and later) keeps out other sites that rebind their name to this address. Other
 * origins need allowOrigin. The bridge's method policy and limits apply as on the command line
 * (allowMethods, allowAllMethods, readOnly, maxRequestBytes, ...).
 */
export function etcdBridge(options: EtcdBridgePluginOptions): Plugin {
  const prefix = (options.prefix ?? "/etcd").replace(/\/+$/, "");
  const mount = (
    middlewares: Connect.Server,
    httpServer: { once(e: "close", f: () => void): unknown } | null,
  ) => {
    const bridge: Bridge = createBridge({ ...options, pathPrefix: prefix, allowSameOrigin: true });
    middlewares.use((req, res, next) => {
      if (req.url?.startsWith(`${prefix}/`)) bridge.handle(req, res);
      else next();
    });
    httpServer?.once("close", () => bridge.close());
  };
  return {
    name: "etcd-web-bridge",
    configureServer(server) {
      mount(server.middlewares, server.httpServer);
    },
    configurePreviewServer(server) {
      mount(server.middlewares, server.httpServer);
    },
  };
}
