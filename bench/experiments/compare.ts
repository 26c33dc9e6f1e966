// Variants of the grpc client, interleaved at one concurrency, with calls/s, latency and the
// client's CPU per call: where the time goes, and what etcd-web's own HTTP/2 client (the
// default for "grpc") takes away against connect-node over node:http2.
// From the repository root (etcd-web's bench bundle runs the same way):
//   npx esbuild bench/experiments/compare.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/compare.mjs \
//     && node node_modules/.cache/etcd-web/compare.mjs put 64 [variant,variant...]

import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Etcd3 } from "etcd3";
import {
  KV,
  type PutRequestSchema,
  type RangeRequestSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";
import { KV as KvRef } from "../../src/gen/etcdserverpb/rpc_ref.js";
import { Etcd } from "../../src/node.js";
import { nodeRuntime } from "../../src/runtime.node.js";
import { grpcTransport } from "../../src/transport/grpc.node.js";
import { unaryClient } from "../../src/v3/unary-client.js";
import { closedLoop } from "../lib/closed-loop.js";
import { startEtcd } from "../lib/etcd.js";
import { BareClient } from "./client-bound.js";

const op = process.argv[2] === "get" ? "get" : "put";
const inFlight = Number(process.argv[3] ?? 64);
const only = process.argv[4]?.split(",");
const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
const url = etcd.url;
type PutInit = MessageInitShape<typeof PutRequestSchema>;
type RangeInit = MessageInitShape<typeof RangeRequestSchema>;
const enc = new TextEncoder();
const key = "bench/k";
const value = "x".repeat(64);
const withTransport = (grpc: typeof grpcTransport) => ({
  ...nodeRuntime,
  transports: { ...nodeRuntime.transports, grpc },
});
const opts = { endpoints: [url], health: false } as const;
const clients = {
  // The default: etcd-web's own HTTP/2 client.
  "etcd-web": new Etcd(opts),
  // connect-node over node:http2.
  "etcd-web+connect-node": new Etcd({ ...opts, grpcClient: "connect-node" }),
  // etcd-web's transport with no deadline, failover or pool around the call.
  "bare+own-transport": new BareClient(opts, withTransport(grpcTransport)),
};
const attempt = { signal: new AbortController().signal };
const connectKv = createClient(KV, createGrpcTransport({ baseUrl: url }));
const ownKv = unaryClient(KvRef, grpcTransport({ baseUrl: url }).transport);
const raw = {
  connect: {
    put: (r: PutInit) => connectKv.put(r),
    range: (r: RangeInit) => connectKv.range(r),
  },
  "own-transport": {
    put: (r: PutInit) => ownKv.put(r, attempt),
    range: (r: RangeInit) => ownKv.range(r, attempt),
  },
};
const e3 = new Etcd3({ hosts: url });
const calls: Record<string, () => Promise<unknown>> = {};
for (const [name, c] of Object.entries(clients)) {
  calls[name] =
    op === "put" ? () => c.put(key, value) : () => c.get(key).then((r) => r.first?.text());
}
for (const [name, c] of Object.entries(raw)) {
  calls[`raw ${name}`] =
    op === "put"
      ? () => c.put({ key: enc.encode(key), value: enc.encode(value) })
      : () => c.range({ key: enc.encode(key) });
}
calls.etcd3 = op === "put" ? () => e3.put(key).value(value).exec() : () => e3.get(key).string();
await clients["etcd-web"].put(key, value);
const o = { inFlight, durationMs: 3000, warmupMs: 700, maxCalls: 1e6 };
for (let r = 0; r < 2; r++) {
  for (const [name, fn] of Object.entries(calls)) {
    if (only && !only.includes(name)) continue;
    const res = await closedLoop(fn, o);
    console.log(
      `${op} ${inFlight} ${name.padEnd(22)} ${String(Math.round(res.perSec)).padStart(6)}/s`,
      `p50 ${res.p50.toFixed(2)} p99 ${res.p99.toFixed(2)} ms`,
      `cpu ${res.cpuMicrosPerCall?.toFixed(1)} µs/call`,
    );
  }
}
for (const c of Object.values(clients)) await c.close();
e3.close();
await etcd.cluster.stop();
process.exit(0);
