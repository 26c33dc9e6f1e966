// Section 6: one large Range (1, 4 and 13 MiB of values) at a time, on protocol "grpc": the
// client's CPU (process.cpuUsage, this process) and wall time per call, for etcd-web on its own
// HTTP/2 client, on connect-node, and the etcd3 npm client, side by side in one run. A client
// that reassembles a message by copying it again on every read shows here as CPU that grows
// with the square of the size.
import { Etcd3 } from "etcd3";
import type { Etcd } from "../src/node.js";
import { median } from "./lib/stats.js";

/** A client under test: one prefix Range, returning the bytes of values it got. */
export interface RangeClient {
  name: string;
  range(prefix: string): Promise<number>;
  close(): Promise<void> | void;
}

export interface RangeCell {
  /** Client CPU per call (user + system), ms; median of the repeats. */
  cpuMs: number;
  /** Wall time per call, ms; median of the repeats. */
  wallMs: number;
  /** Min and max of the CPU per call over the repeats. */
  cpuMinMs: number;
  cpuMaxMs: number;
}

export interface RangeRow {
  mib: number;
  keys: number;
  repeats: number;
  /** By client name. */
  cells: Record<string, RangeCell>;
}

export interface RangeOptions {
  writer: Etcd;
  /** The clients under test, each made fresh for the section. */
  clients: Array<() => RangeClient>;
  sizesMiB: readonly number[];
  repeats: number;
  onStep?: (step: string) => void;
}

/** Values of 64 KiB: well under etcd's default request limit (1.5 MiB) for each put. */
const valueBytes = 64 * 1024;

export const rangePrefix = (mib: number) => `bench/range/${mib}/`;

export function etcdWebRangeClient(name: string, etcd: Etcd): RangeClient {
  return {
    name,
    range: async (prefix) => {
      const r = await etcd.get(prefix, { prefix: true, timeoutMs: 120_000 });
      let n = 0;
      for (const kv of r.kvs) n += kv.value.length;
      return n;
    },
    close: () => etcd.close(),
  };
}

export function etcd3RangeClient(url: string): RangeClient {
  // grpc-js refuses messages above 4 MiB by default; clientv3 takes up to 2 GiB.
  const c = new Etcd3({
    hosts: url,
    grpcOptions: { "grpc.max_receive_message_length": -1 },
  });
  return {
    name: "etcd3",
    range: async (prefix) => {
      const all = await c.getAll().prefix(prefix).buffers();
      let n = 0;
      for (const v of Object.values(all)) n += v.length;
      return n;
    },
    close: () => c.close(),
  };
}

async function fill(writer: Etcd, mib: number): Promise<number> {
  const keys = Math.round((mib * 1024 * 1024) / valueBytes);
  const value = new Uint8Array(valueBytes).fill(0x61);
  const prefix = rangePrefix(mib);
  await writer.delete(prefix, { prefix: true });
  for (let i = 0; i < keys; i += 16) {
    const batch = [];
    for (let j = i; j < Math.min(keys, i + 16); j++) {
      batch.push(writer.put(`${prefix}${String(j).padStart(5, "0")}`, value));
    }
    await Promise.all(batch);
  }
  return keys;
}

export async function runLargeRange(o: RangeOptions): Promise<RangeRow[]> {
  const rows: RangeRow[] = [];
  const clients = o.clients.map((make) => make());
  try {
    for (const mib of o.sizesMiB) {
      o.onStep?.(`range ${mib} MiB: fill`);
      const keys = await fill(o.writer, mib);
      const expected = keys * valueBytes;
      const runs = new Map<string, Array<{ cpuMs: number; wallMs: number }>>(
        clients.map((c) => [c.name, []]),
      );
      o.onStep?.(`range ${mib} MiB`);
      // One untimed call each: connections, and the JIT, warm.
      for (const c of clients) await c.range(rangePrefix(mib));
      for (let r = 0; r < o.repeats; r++) {
        // Rotated per repeat, so that a burst of outside load hits each client alike.
        for (let i = 0; i < clients.length; i++) {
          const c = clients[(i + r) % clients.length] as RangeClient;
          (globalThis as { gc?: () => void }).gc?.();
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const got = await c.range(rangePrefix(mib));
          const wallMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          if (got !== expected) {
            throw new Error(`${c.name}: got ${got} bytes of values, expected ${expected}`);
          }
          runs.get(c.name)?.push({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs });
        }
      }
      rows.push({
        mib,
        keys,
        repeats: o.repeats,
        cells: Object.fromEntries(
          [...runs].map(([name, rs]) => {
            const cpus = rs.map((x) => x.cpuMs);
            return [
              name,
              {
                cpuMs: median(cpus),
                wallMs: median(rs.map((x) => x.wallMs)),
                cpuMinMs: Math.min(...cpus),
                cpuMaxMs: Math.max(...cpus),
              },
            ];
          }),
        ),
      });
      await o.writer.delete(rangePrefix(mib), { prefix: true });
    }
  } finally {
    for (const c of clients) await c.close();
  }
  return rows;
}
