// Starts the whole demo: etcd members, then Vite (the dev server, or `vite preview` of a fresh
// build) with demo/vite.config.ts, whose plugin mounts one bridge per member. Used by
// scripts/demo.mjs (`npm run demo`) and e2e/server.mjs (Playwright's webServer).
import { fileURLToPath } from "node:url";
import { build, createServer, preview } from "vite";
import { freePort, startEtcd } from "./etcd.mjs";

const configFile = fileURLToPath(new URL("../vite.config.ts", import.meta.url));

/**
 * @param {{ size?: number, port?: number, strictPort?: boolean, mode?: "dev" | "preview",
 *   healthIntervalMs?: number, preferredPorts?: boolean, etcdVersion?: string,
 *   plugins?: (etcd: Awaited<ReturnType<typeof startEtcd>>) => import("vite").PluginOption[],
 *   logLevel?: "info" | "warn" | "error" | "silent" }} options
 */
export async function startDemo(options = {}) {
  const port = options.strictPort ? (options.port ?? 5173) : await freePort(options.port ?? 5173);
  const origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  // The page calls the members straight for "gateway" and "v2": etcd must allow its origin.
  const etcd = await startEtcd({
    size: options.size ?? 1,
    enableV2: true,
    corsOrigins: origins,
    preferredPorts: options.preferredPorts,
    version: options.etcdVersion,
  });
  process.env.ETCD_WEB_DEMO_MEMBERS = etcd.members.map((m) => `${m.name}=${m.clientUrl}`).join(",");
  process.env.ETCD_WEB_DEMO_V2 = "1";
  process.env.ETCD_WEB_DEMO_HEALTH_MS = String(options.healthIntervalMs ?? 2000);
  const inline = {
    configFile,
    logLevel: options.logLevel ?? "warn",
    plugins: options.plugins?.(etcd) ?? [],
  };
  let server;
  try {
    if (options.mode === "preview") {
      await build({ ...inline, plugins: [] });
      server = await preview({ ...inline, preview: { port, strictPort: true, host: "127.0.0.1" } });
    } else {
      server = await createServer({
        ...inline,
        server: { port, strictPort: true, host: "127.0.0.1" },
      });
      await server.listen();
    }
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  let closing;
  return {
    url: `http://127.0.0.1:${port}/`,
    etcd,
    /** Stops Vite (and with it the bridges) and etcd; safe to call twice. */
    close() {
      closing ??= Promise.allSettled([server.close(), etcd.stop()]);
      return closing;
    },
  };
}

/** Runs close() on Ctrl-C and SIGTERM (Playwright's gracefulShutdown), then exits. */
export function closeOnSignals(close) {
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
