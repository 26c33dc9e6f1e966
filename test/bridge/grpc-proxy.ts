import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { etcdBinary } from "../harness/etcd.js";
import { freePort } from "../harness/ports.js";

/**
 * etcd's gRPC proxy (`etcd grpc-proxy start`, the same binary) in front of endpoints, on a
 * free port of 127.0.0.1. It coalesces watches on one range into few etcd watchers.
 */
export async function startGrpcProxy(
  endpoints: readonly string[],
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    etcdBinary(),
    [
      "grpc-proxy",
      "start",
      `--endpoints=${endpoints.map((u) => u.replace(/^https?:\/\//, "")).join(",")}`,
      `--listen-addr=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`grpc-proxy exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`grpc-proxy did not listen on 127.0.0.1:${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      process.off("exit", kill);
      kill();
      await exited;
    },
  };
}
