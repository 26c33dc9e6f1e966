// The floor of node:http2 itself: the same pre-encoded Put on one session, nothing else per
// call (no protobuf, no connect, no etcd-web). What any client built on node:http2 (connect-node,
// grpc-js, so etcd3) can at best reach; compare with "raw own-transport" in compare.ts.
//   npx esbuild bench/experiments/h2-floor.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/h2-floor.mjs \
//     && node node_modules/.cache/etcd-web/h2-floor.mjs
import { connect } from "node:http2";
import { PutRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { closedLoop } from "../lib/closed-loop.js";
import { startEtcd } from "../lib/etcd.js";
import { grpcBody } from "../lib/h2load.js";

const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
const enc = new TextEncoder();
const body = Buffer.from(
  grpcBody(PutRequestSchema, { key: enc.encode("bench/k"), value: enc.encode("x".repeat(64)) }),
);
const session = connect(etcd.url);
const headers = {
  ":method": "POST",
  ":path": "/etcdserverpb.KV/Put",
  "content-type": "application/grpc",
  te: "trailers",
};
const call = () =>
  new Promise<void>((resolve, reject) => {
    const s = session.request(headers);
    s.on("data", () => {});
    s.on("error", reject);
    s.on("close", () => resolve());
    s.end(body);
  });
for (let r = 0; r < 3; r++) {
  const res = await closedLoop(call, {
    inFlight: 64,
    durationMs: 3000,
    warmupMs: 500,
    maxCalls: 1e6,
  });
  console.log(
    `node:http2 floor, put, 64 in flight: ${Math.round(res.perSec)}/s`,
    `p50 ${res.p50.toFixed(2)} p99 ${res.p99.toFixed(2)} ms, ${res.cpuMicrosPerCall?.toFixed(1)} µs CPU/call`,
  );
}
session.close();
await etcd.cluster.stop();
