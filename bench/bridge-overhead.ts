// What etcd-web-bridge costs: calls/s through the bridge against direct gRPC to the same etcd,
// in the same run, 64 calls in flight, for Put and Range. The bridge runs in its own process, as
// it does in use. h2load, when on PATH, gives the raw ceiling of each path (no client library).
//
// Node 20 cannot run TypeScript, so bundle it with the esbuild the project already has:
//   npx esbuild bench/bridge-overhead.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/bridge-overhead.mjs \
//     && node node_modules/.cache/etcd-web/bridge-overhead.mjs [--seconds=3] [--rounds=3]
import { execFile, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { startBridge } from "../src/bridge/index.js";
import { KV, PutRequestSchema, RangeRequestSchema } from "../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "../test/harness/etcd.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    "in-flight": { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
    // Internal: this file forks itself to run the bridge.
    "serve-bridge": { type: "string" },
  },
});
if (values["serve-bridge"]) {
  const server = await startBridge({ listen: "127.0.0.1:0", etcd: [values["serve-bridge"]] });
  process.send?.(server.url);
  process.once("disconnect", () => server.close().then(() => process.exit(0)));
  await new Promise(() => {});
}
const seconds = Number(values.seconds);
const inFlight = Number(values["in-flight"]);
const rounds = Number(values.rounds);
const enc = (s: string) => new TextEncoder().encode(s);
const put = { key: enc("bench/key"), value: enc("v".repeat(64)) };
const range = { key: enc("bench/key") };

/** Calls/s of `call` with `inFlight` calls always open, after a one-second warm-up. */
async function rate(call: () => Promise<unknown>): Promise<number> {
  let count = 0;
  let counting = false;
  let stop = false;
  const workers = Array.from({ length: inFlight }, async () => {
    while (!stop) {
      await call();
      if (counting) count++;
    }
  });
  await sleep(1000);
  counting = true;
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  counting = false;
  stop = true;
  await Promise.all(workers);
  return count / elapsed;
}

/** h2load's calls/s for one gRPC or gRPC-Web request body, or undefined without h2load. */
async function h2load<T extends DescMessage>(
  url: string,
  schema: T,
  message: MessageInitShape<T>,
  contentType: string,
): Promise<number | undefined> {
  const body = join(dir, `${schema.typeName}.bin`);
  writeFileSync(body, encodeEnvelope(0, toBinary(schema, create(schema, message))));
  try {
    const { stdout: out } = await promisify(execFile)(
      "h2load",
      [
        ...["-n", String(Math.round(seconds * 5_000)), "-c", "1", "-m", String(inFlight)],
        ...["-d", body, "-H", `content-type: ${contentType}`, "-H", "te: trailers", url],
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
    const ok = /status codes: (\d+) 2xx/.exec(out);
    return m && ok && Number(ok[1]) > 0 ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function median(xs: number[] = []): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "etcd-web-bench-"));
const etcd = await EtcdCluster.start();
// etcd answers from its own process, the bridge from another, the clients from this one.
const etcdUrl = etcd.endpoints[0] ?? "";
const child = fork(fileURLToPath(import.meta.url), ["--serve-bridge", etcdUrl]);
const [bridgeUrl] = (await once(child, "message")) as [string];
const bridge = { url: bridgeUrl };

try {
  const paths: Array<[string, Transport]> = [
    ["direct gRPC (HTTP/2, 1 connection)", createGrpcTransport({ baseUrl: etcdUrl })],
    [
      "bridge, gRPC-Web over h2c (1 connection)",
      createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "2" }),
    ],
    [
      `bridge, gRPC-Web over HTTP/1.1 (${inFlight} connections)`,
      createGrpcWebTransport({
        baseUrl: bridge.url,
        httpVersion: "1.1",
        nodeOptions: { agent: new Agent({ keepAlive: true }) },
      }),
    ],
    [
      "bridge, gRPC-Web over HTTP/1.1 (6 connections, a browser's limit)",
      createGrpcWebTransport({
        baseUrl: bridge.url,
        httpVersion: "1.1",
        nodeOptions: { agent: new Agent({ keepAlive: true, maxSockets: 6 }) },
      }),
    ],
  ];
  await createClient(KV, paths[0]?.[1] as Transport).put(put);
  console.log(
    `etcd ${etcdUrl} (1 member), ${inFlight} calls in flight, ${seconds} s per figure, ` +
      `median of ${rounds} rounds\n`,
  );
  // Rounds go over every path in turn, so that a load that comes and goes meets them all.
  const figures = paths.map(() => ({ put: [] as number[], range: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, transport]] of paths.entries()) {
      const kv = createClient(KV, transport);
      figures[i]?.put.push(await rate(() => kv.put(put)));
      figures[i]?.range.push(await rate(() => kv.range(range)));
    }
  }
  const rows: string[][] = [["path", "Put/s", "Range/s"]];
  const direct = [median(figures[0]?.put), median(figures[0]?.range)];
  for (const [i, [name]] of paths.entries()) {
    const f = [median(figures[i]?.put), median(figures[i]?.range)];
    rows.push([
      name,
      ...f.map((x, j) => `${Math.round(x)} (${Math.round((100 * x) / (direct[j] || x))}%)`),
    ]);
  }
  const ceilings: Array<[string, string, string]> = [
    ["h2load to etcd, gRPC", etcdUrl, "application/grpc"],
    ["h2load to the bridge, gRPC-Web over h2c", bridge.url, "application/grpc-web+proto"],
  ];
  for (const [name, base, type] of ceilings) {
    const p = await h2load(`${base}/etcdserverpb.KV/Put`, PutRequestSchema, put, type);
    const r = await h2load(`${base}/etcdserverpb.KV/Range`, RangeRequestSchema, range, type);
    rows.push([
      name,
      p === undefined ? "-" : String(Math.round(p)),
      r === undefined ? "-" : String(Math.round(r)),
    ]);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
  console.log(
    "\n(%) is of direct gRPC with the same client library. '-': h2load not on PATH or failed.",
  );
} finally {
  child.disconnect();
  await once(child, "exit");
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
