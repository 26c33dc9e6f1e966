// Section 1: Node, protocol "grpc": put and get calls/s and latency at several in-flight
// counts, for etcd-web, the etcd3 npm client, and h2load (the raw ceiling), in one run.
import { Etcd3 } from "etcd3";
import { PutRequestSchema, RangeRequestSchema } from "../src/gen/etcdserverpb/rpc_pb.js";
import { closedLoop } from "./lib/closed-loop.js";
import { grpcBody, h2load } from "./lib/h2load.js";
import { type Cell, type Rate, summarise } from "./lib/stats.js";

export type KvOp = "put" | "get";

/** A client under test: put and get of one key, and close. */
export interface KvClient {
  name: string;
  put(): Promise<unknown>;
  get(): Promise<unknown>;
  close(): Promise<void> | void;
}

export interface KvOptions {
  etcdUrl: string;
  /** etcd-web and, optionally, variants of it (another grpcClient), each made fresh per op. */
  clients: Array<() => KvClient>;
  inFlight: readonly number[];
  durationMs: number;
  warmupMs: number;
  repeats: number;
  onStep?: (step: string) => void;
}

export interface KvRow {
  op: KvOp;
  inFlight: number;
  /** By client name; "etcd3" and "h2load" are the references. */
  cells: Record<string, Cell>;
}

export const kvKey = "bench/kv/key";
export const kvValue = "x".repeat(64);

export function etcd3Client(url: string): KvClient {
  const c = new Etcd3({ hosts: url });
  return {
    name: "etcd3",
    put: () => c.put(kvKey).value(kvValue).exec(),
    get: () => c.get(kvKey).string(),
    close: () => c.close(),
  };
}

/** h2load with the same request each client sends, on one connection as the clients use. */
function h2loadRunner(url: string, op: KvOp, inFlight: number, o: KvOptions): () => Promise<Rate> {
  const enc = new TextEncoder();
  const body =
    op === "put"
      ? grpcBody(PutRequestSchema, { key: enc.encode(kvKey), value: enc.encode(kvValue) })
      : grpcBody(RangeRequestSchema, { key: enc.encode(kvKey) });
  return () =>
    h2load({
      url: `${url}/etcdserverpb.KV/${op === "put" ? "Put" : "Range"}`,
      body,
      connections: 1,
      streamsPerConnection: inFlight,
      durationS: o.durationMs / 1000,
      warmupS: o.warmupMs / 1000,
    });
}

export async function runKv(o: KvOptions): Promise<KvRow[]> {
  const rows: KvRow[] = [];
  for (const op of ["put", "get"] as const) {
    const clients = [...o.clients.map((make) => make()), etcd3Client(o.etcdUrl)];
    try {
      // Each client connects and writes the key before anything is timed.
      for (const c of clients) await c.put();
      for (const inFlight of o.inFlight) {
        o.onStep?.(`kv ${op} ${inFlight} in flight`);
        const runners: Array<[string, () => Promise<Rate>]> = [
          ...clients.map((c): [string, () => Promise<Rate>] => [
            c.name,
            () =>
              closedLoop(op === "put" ? () => c.put() : () => c.get(), {
                inFlight,
                durationMs: o.durationMs,
                warmupMs: o.warmupMs,
                maxCalls: 2_000_000,
              }),
          ]),
          ["h2load", h2loadRunner(o.etcdUrl, op, inFlight, o)],
        ];
        const runs = new Map<string, Rate[]>(runners.map(([n]) => [n, []]));
        for (let r = 0; r < o.repeats; r++) {
          // Rotate the order each repeat, so that a burst of outside load hits each client alike.
          for (let i = 0; i < runners.length; i++) {
            const [name, run] = runners[(i + r) % runners.length] as [string, () => Promise<Rate>];
            runs.get(name)?.push(await run());
          }
        }
        rows.push({
          op,
          inFlight,
          cells: Object.fromEntries([...runs].map(([n, rs]) => [n, summarise(rs)])),
        });
      }
    } finally {
      for (const c of clients) await c.close();
    }
  }
  return rows;
}
