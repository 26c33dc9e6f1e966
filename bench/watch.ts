// Section 2: watch, in Node, for grpc, gateway and grpc-web (through the bridge):
// events/s to one watcher under a put storm, put→event latency, and 1,000 watches on one client.
import { PutRequestSchema } from "../src/gen/etcdserverpb/rpc_pb.js";
import { Etcd, type Watcher } from "../src/node.js";
import type { EtcdClient } from "../src/v3/client.js";
import { grpcBody, h2load } from "./lib/h2load.js";
import { Samples } from "./lib/stats.js";

export type WatchProtocol = "grpc" | "gateway" | "grpc-web";
export const watchProtocols: readonly WatchProtocol[] = ["grpc", "gateway", "grpc-web"];

export interface WatchOptions {
  etcdUrl: string;
  bridgeUrl: string;
  /** Where the bridge's process reports its memory (for grpc-web's 1,000 watches). */
  bridgeStatsUrl: string;
  /** Writes for the latency figures: one grpc client, the same for every protocol. */
  writer: EtcdClient;
  /** Paced put rates of the storms, in turn, and the length of each. */
  stormRates: readonly number[];
  stormSeconds: number;
  /** Tries per rate before the series ends. */
  stormTries: number;
  latencySamples: number;
  watches: number;
  manyLatencySamples: number;
  /** Builds the client under test; the bench may pass a variant (grpcClient "connect-node"). */
  client?: (protocol: WatchProtocol, endpoint: string) => EtcdClient;
  /** Default: all three. */
  protocols?: readonly WatchProtocol[];
  onStep?: (step: string) => void;
}

export interface StormRun {
  /** The paced put rate asked of h2load. */
  offered: number;
  /** The storm's own put rate (h2load). */
  putsPerSec: number;
  /** Events/s delivered to the watcher, first event to last. */
  eventsPerSec: number;
  delivered: number;
  sent: number;
  /** Watch responses that carried them: one per event while the watcher keeps up. */
  responses: number;
  /** Every event arrived, at (nearly) the storm's rate. */
  keptUp: boolean;
}

export interface WatchResult {
  protocol: WatchProtocol;
  storm: {
    /** The highest events/s delivered by a storm the watcher kept up with (0: none). */
    eventsPerSec: number;
    runs: StormRun[];
  };
  latency: { p50: number; p99: number; n: number };
  many: {
    watches: number;
    /** From the first create to the last watch confirmed by etcd. */
    createMs: number;
    /** The client's growth with the watches open, after GC, in MiB: JS heap, and memory
     * outside it (Buffers, ArrayBuffers: socket reads and message bytes). */
    heapMiB: number;
    externalMiB: number;
    /** grpc-web: the bridge process's RSS growth, in MiB. */
    bridgeRssMiB: number | undefined;
    latency: { p50: number; p99: number; n: number };
  };
}

const enc = new TextEncoder();

function defaultClient(protocol: WatchProtocol, endpoint: string): EtcdClient {
  return new Etcd({ endpoints: [endpoint], protocol, health: false });
}

function endpointFor(o: WatchOptions, protocol: WatchProtocol): string {
  return protocol === "grpc-web" ? o.bridgeUrl : o.etcdUrl;
}

/** A one-shot signal per key: resolves with the time the next event on that key arrived. */
class Arrivals {
  private readonly waiting = new Map<string, (t: number) => void>();

  next(key: string): Promise<number> {
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  seen(key: string, t: number): void {
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w(t);
    }
  }
}

function consume(w: Watcher, onEvent: (key: string, t: number) => void): void {
  void (async () => {
    try {
      for await (const r of w) {
        const t = performance.now();
        for (const ev of r.events) onEvent(ev.kv.keyText, t);
      }
    } catch {
      // Canceled at the end of the test.
    }
  })();
}

async function measureLatency(
  writer: EtcdClient,
  arrivals: Arrivals,
  keyOf: (i: number) => string,
  samples: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const s = new Samples(samples);
  const stopAt = performance.now() + 60_000;
  for (let i = 0; i < samples && performance.now() < stopAt; i++) {
    const key = keyOf(i);
    const t0 = performance.now();
    const arrived = arrivals.next(key);
    await writer.put(key, String(i));
    const t1 = await withTimeout(arrived, 10_000, `no event for ${key}`);
    s.add(t1 - t0);
  }
  return { p50: s.quantile(0.5), p99: s.quantile(0.99), n: s.count };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/**
 * One watcher on a prefix, and a storm of puts under it from h2load, paced at each rate in
 * turn. etcd sends a watcher that keeps up one response per revision; one that falls behind
 * (its stream blocked for a moment) goes to etcd's catch-up path, at most 1,000 revisions
 * per 100 ms, so a storm either is delivered at its own rate or falls to about 10,000/s.
 */
async function storm(o: WatchOptions, protocol: WatchProtocol): Promise<WatchResult["storm"]> {
  const client = (o.client ?? defaultClient)(protocol, endpointFor(o, protocol));
  const prefix = `bench/storm/${protocol}/`;
  const w = client.watch(prefix, { prefix: true });
  let delivered = 0;
  let responses = 0;
  let first = 0;
  let last = 0;
  const consumed = (async () => {
    for await (const r of w) {
      const t = performance.now();
      if (delivered === 0) first = t;
      delivered += r.events.length;
      responses++;
      last = t;
    }
  })().catch(() => {});
  const runs: StormRun[] = [];
  try {
    await w.ready({ timeoutMs: 30_000 });
    const body = grpcBody(PutRequestSchema, {
      key: enc.encode(`${prefix}k`),
      value: enc.encode("x".repeat(64)),
    });
    for (const rate of o.stormRates) {
      // A storm that falls behind may be one bad moment on a shared machine: try again, up to
      // stormTries times; a rate never kept up with ends the series.
      let kept = false;
      for (let attempt = 0; attempt < o.stormTries && !kept; attempt++) {
        delivered = 0;
        responses = 0;
        const puts = Math.round(rate * o.stormSeconds);
        const sent = await h2load({
          url: `${o.etcdUrl}/etcdserverpb.KV/Put`,
          body,
          connections: 2,
          streamsPerConnection: 64,
          requests: puts,
          rpsPerConnection: rate / 2,
        });
        if (sent.errors > 0) throw new Error(`the put storm had ${sent.errors} failed puts`);
        // Wait until every event arrived, or 10 s without progress.
        for (let seen = -1, idleSince = performance.now(); delivered < sent.calls; ) {
          if (delivered !== seen) {
            seen = delivered;
            idleSince = performance.now();
          } else if (performance.now() - idleSince > 10_000) {
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        const eventsPerSec = last > first ? ((delivered - 1) / (last - first)) * 1000 : 0;
        kept = delivered >= sent.calls && eventsPerSec >= 0.95 * sent.perSec;
        runs.push({
          offered: rate,
          putsPerSec: sent.perSec,
          eventsPerSec,
          delivered,
          sent: sent.calls,
          responses,
          keptUp: kept,
        });
        // Let etcd settle before the next storm.
        await new Promise((r) => setTimeout(r, 500));
      }
      if (!kept) break;
    }
  } finally {
    w.cancel();
    await consumed;
    await client.close();
  }
  const kept = runs.filter((r) => r.keptUp);
  return {
    eventsPerSec: Math.max(0, ...kept.map((r) => r.eventsPerSec)),
    runs,
  };
}

async function latency(o: WatchOptions, protocol: WatchProtocol) {
  const client = (o.client ?? defaultClient)(protocol, endpointFor(o, protocol));
  const key = `bench/latency/${protocol}`;
  const arrivals = new Arrivals();
  const w = client.watch(key);
  consume(w, (k, t) => arrivals.seen(k, t));
  try {
    await w.ready({ timeoutMs: 30_000 });
    return await measureLatency(o.writer, arrivals, () => key, o.latencySamples);
  } finally {
    w.cancel();
    await client.close();
  }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

async function bridgeRss(url: string): Promise<number | undefined> {
  try {
    const s = (await (await fetch(url)).json()) as { memory?: { rss?: number } };
    return s.memory?.rss;
  } catch {
    return undefined;
  }
}

async function many(o: WatchOptions, protocol: WatchProtocol): Promise<WatchResult["many"]> {
  gc();
  const before = process.memoryUsage();
  const bridgeBefore = protocol === "grpc-web" ? await bridgeRss(o.bridgeStatsUrl) : undefined;
  const client = (o.client ?? defaultClient)(protocol, endpointFor(o, protocol));
  const prefix = `bench/many/${protocol}/`;
  const arrivals = new Arrivals();
  const watchers: Watcher[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < o.watches; i++) {
      const w = client.watch(`${prefix}${i}`);
      consume(w, (k, t) => arrivals.seen(k, t));
      watchers.push(w);
    }
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 60_000 })));
    const createMs = performance.now() - t0;
    gc();
    const after = process.memoryUsage();
    const bridgeAfter = protocol === "grpc-web" ? await bridgeRss(o.bridgeStatsUrl) : undefined;
    // Keys spread over the watches, each a different one from the last.
    const lat = await measureLatency(
      o.writer,
      arrivals,
      (i) => `${prefix}${(i * 7919) % o.watches}`,
      o.manyLatencySamples,
    );
    const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    return {
      watches: o.watches,
      createMs,
      heapMiB: mib(after.heapUsed - before.heapUsed),
      externalMiB: mib(after.external - before.external),
      bridgeRssMiB:
        bridgeBefore !== undefined && bridgeAfter !== undefined
          ? mib(bridgeAfter - bridgeBefore)
          : undefined,
      latency: lat,
    };
  } finally {
    for (const w of watchers) w.cancel();
    await client.close();
  }
}

export async function runWatch(o: WatchOptions): Promise<WatchResult[]> {
  const results: WatchResult[] = [];
  for (const protocol of o.protocols ?? watchProtocols) {
    o.onStep?.(`watch ${protocol} storm`);
    const s = await storm(o, protocol);
    o.onStep?.(`watch ${protocol} latency`);
    const l = await latency(o, protocol);
    o.onStep?.(`watch ${protocol} ${o.watches} watches`);
    const m = await many(o, protocol);
    results.push({ protocol, storm: s, latency: l, many: m });
  }
  return results;
}
