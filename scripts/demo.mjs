#!/usr/bin/env node
// `npm run demo`: starts a local etcd (v2 on, CORS for the demo's origin) on 127.0.0.1 and
// prints how to reach it. Ctrl-C stops it and removes its data.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const clientPort = await pickPort(2379);
const peerPort = await pickPort(2380);
const dataDir = mkdtempSync(join(tmpdir(), "etcd-web-demo-"));
const clientUrl = `http://127.0.0.1:${clientPort}`;
const etcd = spawn(
  "etcd",
  [
    "--name=demo",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=demo=http://127.0.0.1:${peerPort}`,
    "--enable-v2=true",
    "--cors=http://127.0.0.1:5173,http://localhost:5173",
    "--logger=zap",
    "--log-level=warn",
  ],
  { stdio: ["ignore", "inherit", "inherit"] },
);
const cleanup = () => {
  etcd.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(0);
});
process.on("SIGTERM", () => {
  cleanup();
  process.exit(0);
});
etcd.on("exit", (code) => {
  rmSync(dataDir, { recursive: true, force: true });
  console.error(`etcd exited (${code})`);
  process.exit(1);
});

await waitHealthy(clientUrl);
console.log(`
etcd is running at ${clientUrl} (v3 gRPC and JSON gateway, v2 keys API).

  Node:     new Etcd({ endpoints: ["${clientUrl}"] })                     // grpc
  Browser:  new Etcd({ endpoints: ["${clientUrl}"], protocol: "gateway" })
  v2:       new V2Client({ endpoints: ["${clientUrl}"] })

Press Ctrl-C to stop it.`);

async function waitHealthy(url) {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/health`);
      if ((await res.json()).health === "true") return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error("etcd did not become healthy");
  cleanup();
  process.exit(1);
}

function pickPort(preferred) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(undefined));
      s.listen(port, "127.0.0.1", () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
  return tryPort(preferred).then((p) => p ?? tryPort(0));
}
