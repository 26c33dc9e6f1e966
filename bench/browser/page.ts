// The bench page, bundled for Chromium: etcd-web's browser entries over grpc-web (through the
// bridge on the page's own origin), etcd's gateway and v2 (cross-origin, etcd's --cors).
// bench/browser/run.ts drives it through window.bench.
import { Etcd } from "../../src/index.js";
import { V2Client } from "../../src/v2/index.js";
import { closedLoop } from "../lib/closed-loop.js";
import { type Rate, Samples } from "../lib/stats.js";
import { type ScaleReport, scale } from "./scale-page.js";

export type PageProtocol = "grpc-web" | "gateway" | "v2";

interface Config {
  bridgeUrl: string;
  etcdUrl: string;
}

interface ManyReport {
  opened: number;
  /** Watches that etcd confirmed (v3: state "watching"); v2 has no such answer. */
  watching: number | undefined;
  /** Watches that saw the put made on their key after they opened. */
  delivered: number;
  /** From the writes to the last event that arrived, ms. */
  lastEventMs: number | undefined;
  /** A unary call made while the watches were open, before the writes: its time, or its error. */
  probe: { ok: boolean; ms: number; error?: string };
}

let config: Config | undefined;
const value = "x".repeat(64);

function cfg(): Config {
  if (!config) throw new Error("bench.init() first");
  return config;
}

function v3(protocol: "grpc-web" | "gateway"): Etcd {
  const c = cfg();
  return new Etcd({
    endpoints: [protocol === "grpc-web" ? c.bridgeUrl : c.etcdUrl],
    protocol,
    health: false,
  });
}

function v2(): V2Client {
  return new V2Client({ endpoints: [cfg().etcdUrl] });
}

/** Calls/s of put or get with `inFlight` calls in flight. */
async function unary(
  protocol: PageProtocol,
  op: "put" | "get",
  inFlight: number,
  durationMs: number,
): Promise<Rate> {
  const key = `bench/page/unary/${protocol}`;
  const loop = { inFlight, durationMs, warmupMs: 500, maxCalls: 500_000 };
  if (protocol === "v2") {
    const c = v2();
    const path = `/bench/page/unary/${protocol}`;
    await c.keys.set(path, value);
    return closedLoop(op === "put" ? () => c.keys.set(path, value) : () => c.keys.get(path), loop);
  }
  const etcd = v3(protocol);
  try {
    await etcd.put(key, value);
    return await closedLoop(
      op === "put" ? () => etcd.put(key, value) : () => etcd.get(key).then((r) => r.first?.text()),
      loop,
    );
  } finally {
    await etcd.close();
  }
}

/** put→event: the page puts a key it watches and times the event's arrival. */
async function latency(
  protocol: PageProtocol,
  samples: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const s = new Samples(samples);
  const stopAt = performance.now() + 30_000;
  if (protocol === "v2") {
    const c = v2();
    const path = "/bench/page/latency";
    const first = await c.keys.set(path, "start");
    const abort = new AbortController();
    const it = c.keys
      .watcher(path, { afterIndex: first.node?.modifiedIndex ?? 0, signal: abort.signal })
      [Symbol.asyncIterator]();
    try {
      for (let i = 0; i < samples && performance.now() < stopAt; i++) {
        const t0 = performance.now();
        const [ev] = await Promise.all([it.next(), c.keys.set(path, String(i))]);
        if (ev.done) throw new Error("the v2 watcher ended");
        s.add(performance.now() - t0);
      }
    } finally {
      abort.abort();
    }
    return { p50: s.quantile(0.5), p99: s.quantile(0.99), n: s.count };
  }
  const etcd = v3(protocol);
  const key = `bench/page/latency/${protocol}`;
  const w = etcd.watch(key);
  try {
    await w.ready({ timeoutMs: 10_000 });
    const it = w[Symbol.asyncIterator]();
    for (let i = 0; i < samples && performance.now() < stopAt; i++) {
      const t0 = performance.now();
      const [ev] = await Promise.all([it.next(), etcd.put(key, String(i))]);
      if (ev.done) throw new Error("the watch ended");
      s.add(performance.now() - t0);
    }
  } finally {
    w.cancel();
    await etcd.close();
  }
  return { p50: s.quantile(0.5), p99: s.quantile(0.99), n: s.count };
}

// ---- many watches in one page ----

let many:
  | {
      protocol: PageProtocol;
      /** performance.now() of each watch's first event; 0 before it. */
      delivered: number[];
      writesAt?: number;
      probeResult?: ManyReport["probe"];
      watching: () => number | undefined;
      stop: () => Promise<void>;
      probe: () => Promise<unknown>;
    }
  | undefined;

/** Opens n watches on keys prefix + i; the bench then writes each key from outside the page. */
async function openWatches(protocol: PageProtocol, n: number, prefix: string): Promise<void> {
  if (many) await many.stop();
  const delivered = new Array<number>(n).fill(0);
  const abort = new AbortController();
  if (protocol === "v2") {
    const c = v2();
    // Each watcher starts after the key's current index, so a write made later is seen
    // whenever its long poll gets a connection.
    const base = await c.keys.set(`${prefix}base`, "0");
    const after = base.node?.modifiedIndex ?? 0;
    for (let i = 0; i < n; i++) {
      const watcher = c.keys.watcher(`${prefix}${i}`, { afterIndex: after, signal: abort.signal });
      void (async () => {
        try {
          // The watcher goes on polling after its event, as an app's would.
          for await (const _ of watcher) delivered[i] ||= performance.now();
        } catch {
          // Aborted at the end of the test.
        }
      })();
    }
    many = {
      protocol,
      delivered,
      watching: () => undefined,
      probe: () => c.keys.get(`${prefix}base`, { timeoutMs: 3000 }),
      stop: async () => abort.abort(),
    };
    return;
  }
  const etcd = v3(protocol);
  const watchers = Array.from({ length: n }, (_, i) => {
    const w = etcd.watch(`${prefix}${i}`, { signal: abort.signal });
    void (async () => {
      try {
        for await (const r of w) {
          if (r.events.length > 0) delivered[i] ||= performance.now();
        }
      } catch {
        // Canceled at the end of the test.
      }
    })();
    return w;
  });
  many = {
    protocol,
    delivered,
    watching: () => watchers.filter((w) => w.state === "watching").length,
    probe: () => etcd.get(`${prefix}0`, { timeoutMs: 3000 }),
    stop: async () => {
      abort.abort();
      await etcd.close();
    },
  };
}

/** A unary call beside the open watches, before any write: does it get a connection? */
async function probeCall(): Promise<ManyReport["probe"]> {
  const m = many;
  if (!m) throw new Error("no watches open");
  const t0 = performance.now();
  try {
    await m.probe();
    m.probeResult = { ok: true, ms: performance.now() - t0 };
  } catch (e) {
    m.probeResult = {
      ok: false,
      ms: performance.now() - t0,
      error: String((e as Error).message ?? e),
    };
  }
  return m.probeResult;
}

/** The bench is about to write every watched key. */
function markWrites(): void {
  if (many) many.writesAt = performance.now();
}

/** How the open watches fared after the bench wrote their keys; waits up to waitMs for more. */
async function watchReport(waitMs: number): Promise<ManyReport> {
  const m = many;
  if (!m) throw new Error("no watches open");
  const until = performance.now() + waitMs;
  while (performance.now() < until && m.delivered.some((d) => d === 0)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const arrived = m.delivered.filter((t) => t > 0);
  return {
    opened: m.delivered.length,
    watching: m.watching(),
    delivered: arrived.length,
    lastEventMs:
      arrived.length > 0 && m.writesAt !== undefined
        ? Math.max(...arrived) - m.writesAt
        : undefined,
    probe: m.probeResult ?? { ok: false, ms: 0, error: "not run" },
  };
}

async function closeWatches(): Promise<void> {
  await many?.stop();
  many = undefined;
}

/** n watches in this tab on one client: see scale-page.ts. */
async function scaleWatches(
  protocol: "grpc-web" | "gateway",
  n: number,
  samples: number,
): Promise<ScaleReport> {
  const etcd = v3(protocol);
  try {
    return await scale(etcd, n, samples, `bench/page/scale/${protocol}/${n}/${Date.now()}/`);
  } finally {
    await etcd.close();
  }
}

const api = {
  init(c: Config) {
    config = c;
    return true;
  },
  unary,
  latency,
  openWatches,
  probeCall,
  markWrites,
  watchReport,
  closeWatches,
  scaleWatches,
};

export type BenchPage = typeof api;
(globalThis as unknown as { bench: BenchPage }).bench = api;
const status = document.getElementById("status");
if (status) status.textContent = "ready";
