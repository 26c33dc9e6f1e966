// Starts bench/browser/server.ts in a child process (the bench's own bundle, mode "serve").
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { build } from "esbuild";

export interface PageServer {
  origin: string;
  /** etcd-web-bridge's base URL for grpc-web clients. */
  bridgeUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** Bundles the bench page for Chromium: the browser entries of etcd-web and etcd-web/v2. */
export async function buildPage(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    minify: true,
    logLevel: "warning",
  });
  return out.outputFiles.map((f) => f.text).join("\n");
}

export async function startPageServer(opts: {
  self: string;
  port: number;
  etcdUrl: string;
  script: string;
  logFile: string;
}): Promise<PageServer> {
  const log = openSync(opts.logFile, "a");
  const child: ChildProcess = spawn(
    process.execPath,
    [opts.self, "serve", String(opts.port), opts.etcdUrl],
    { stdio: ["pipe", "pipe", log] },
  );
  child.stdin?.end(opts.script);
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the page server did not start in 20 s")),
      20_000,
    );
    child.once("exit", (code) =>
      reject(new Error(`the page server exited (${code}); see ${opts.logFile}`)),
    );
    child.stdout?.on("data", (d: Buffer) => {
      const m = /listening (\S+)/.exec(d.toString());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    origin,
    bridgeUrl: `${origin}/etcd`,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
