// A put or get loop of etcd-web over grpc (its own HTTP/2 client, or connect-node), to run
// under node --cpu-prof:
//   npx esbuild bench/experiments/profile-put.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/profile-put.mjs \
//     && node --cpu-prof --cpu-prof-dir=node_modules/.cache/etcd-web/prof \
//          node_modules/.cache/etcd-web/profile-put.mjs get [connect-node]
import { Etcd } from "../../src/node.js";
import { closedLoop } from "../lib/closed-loop.js";
import { startEtcd } from "../lib/etcd.js";

const op = process.argv[2] === "get" ? "get" : "put";
const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
const opts = { endpoints: [etcd.url], health: false as const };
const client = new Etcd(
  process.argv[3] === "connect-node" ? { ...opts, grpcClient: "connect-node" } : opts,
);
const value = "x".repeat(64);
await client.put("bench/k", value);
const res = await closedLoop(
  op === "put"
    ? () => client.put("bench/k", value)
    : () => client.get("bench/k").then((r) => r.first?.text()),
  { inFlight: 64, durationMs: 5000, warmupMs: 500, maxCalls: 1e6 },
);
console.log(op, Math.round(res.perSec), "calls/s", res.cpuMicrosPerCall?.toFixed(1), "µs/call");
await client.close();
await etcd.cluster.stop();
