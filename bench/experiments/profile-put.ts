// A put or get loop of the current or the patched client, to run under node --cpu-prof:
//   npx esbuild bench/experiments/profile-put.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/profile-put.mjs \
//     && node --cpu-prof --cpu-prof-dir=node_modules/.cache/etcd-web/prof \
//          node_modules/.cache/etcd-web/profile-put.mjs get patched
import { Etcd } from "../../src/node.js";
import { closedLoop } from "../lib/closed-loop.js";
import { startEtcd } from "../lib/etcd.js";
import { loadPatched } from "../lib/patched.js";

const op = process.argv[2] === "get" ? "get" : "put";
const patched = process.argv[3] === "patched" ? await loadPatched(process.cwd()) : undefined;
if (patched && "error" in patched) throw new Error(patched.error);
const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
const opts = { endpoints: [etcd.url], health: false as const };
const client = patched ? new patched.Etcd(opts) : new Etcd(opts);
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
