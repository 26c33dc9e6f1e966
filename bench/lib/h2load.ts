// h2load (nghttp2-client) as the raw gRPC ceiling: the same encoded request, sent as fast as
// a C client can over HTTP/2, in the same run as the clients it is compared with.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";
import { quantile, type Rate } from "./stats.js";

export const h2loadBinary = "/usr/bin/h2load";

/** A gRPC request body: the 5-byte prefix (flag 0, big-endian length) and the protobuf bytes. */
export function grpcBody<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  const bytes = toBinary(schema, create(schema, init));
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

export interface H2loadRun {
  /** e.g. http://127.0.0.1:2379/etcdserverpb.KV/Put */
  url: string;
  body: Uint8Array;
  /** Connections, and streams in flight on each. */
  connections: number;
  streamsPerConnection: number;
  /** Timed run: measured seconds after a warm-up. */
  durationS?: number;
  warmupS?: number;
  /** Or a fixed number of requests instead of a time. */
  requests?: number;
  /** Requests per second per connection; default as fast as it can. */
  rpsPerConnection?: number;
}

const verified = new Set<string>();

/**
 * Sends the body once over node:http2 and checks that etcd answers grpc-status 0: h2load
 * checks the HTTP status only, so a body etcd rejects would still count as calls.
 */
async function verify(url: string, body: Uint8Array): Promise<void> {
  const id = `${url} ${Buffer.from(body).toString("base64")}`;
  if (verified.has(id)) return;
  const u = new URL(url);
  const session = connect(u.origin);
  try {
    const status = await new Promise<string>((resolve, reject) => {
      const s = session.request({
        ":method": "POST",
        ":path": u.pathname,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let grpcStatus: string | undefined;
      s.on("response", (h) => {
        if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
      });
      s.on("trailers", (t) => {
        grpcStatus = String(t["grpc-status"]);
      });
      s.on("data", () => {});
      s.on("error", reject);
      s.on("close", () => resolve(grpcStatus ?? "none"));
      s.setTimeout(10_000, () => s.close());
      s.end(body);
    });
    if (status !== "0") throw new Error(`h2load's request to ${url} gets grpc-status ${status}`);
    verified.add(id);
  } finally {
    session.close();
  }
}

/**
 * Runs h2load for a fixed time (or count) and reads its per-request log for latency. The
 * request is checked first (verify), since h2load itself looks at the HTTP status only.
 */
export async function h2load(run: H2loadRun): Promise<Rate> {
  await verify(run.url, run.body);
  const dir = mkdtempSync(join(tmpdir(), "etcd-web-h2load-"));
  try {
    const bodyFile = join(dir, "body.bin");
    const logFile = join(dir, "log.tsv");
    writeFileSync(bodyFile, run.body);
    const args = [
      `--clients=${run.connections}`,
      `--max-concurrent-streams=${run.streamsPerConnection}`,
      ...(run.requests !== undefined
        ? [`--requests=${run.requests}`]
        : [
            `--duration=${Math.round((run.durationS ?? 2) * 1000)}ms`,
            `--warm-up-time=${Math.round((run.warmupS ?? 0) * 1000)}ms`,
          ]),
      ...(run.rpsPerConnection !== undefined ? [`--rps=${run.rpsPerConnection}`] : []),
      `--data=${bodyFile}`,
      "--header=content-type: application/grpc",
      "--header=te: trailers",
      `--log-file=${logFile}`,
      run.url,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        h2loadBinary,
        args,
        { timeout: ((run.durationS ?? 0) + (run.warmupS ?? 0) + 60) * 1000, maxBuffer: 1 << 20 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`h2load: ${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const m =
      /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
        out,
      );
    const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
    const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    if (!m || !rate || !status) throw new Error(`h2load: unexpected output\n${out}`);
    const errors = Number(m[5]) + Number(m[6]) + Number(status[3]) + Number(status[4]);
    // Log columns: start (µs since epoch), HTTP status, time to the response end (µs).
    const latencies = readFileSync(logFile, "utf8")
      .split("\n")
      .map((line) => line.split("\t"))
      .filter((cols) => cols.length >= 3 && cols[1] === "200")
      .map((cols) => Number(cols[2]) / 1000);
    return {
      perSec: Number(rate[1]),
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      calls: Number(m[4]),
      errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
