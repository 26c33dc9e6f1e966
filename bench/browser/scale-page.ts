// Many watches in one tab (the page half of bench/browser/scale-run.ts): how long until etcd
// has confirmed them all, put→event and a get's latency with all of them open, and the JS
// heap they hold. Over HTTP/1.1 the page's origin gets 6 connections from Chromium.
import type { Etcd } from "../../src/index.js";
import { Samples } from "../lib/stats.js";

export interface ScaleReport {
  watches: number;
  /** From the first watch() to the last confirmation, ms; undefined if not all confirmed. */
  confirmMs: number | undefined;
  confirmed: number;
  /** put→event, the page putting keys it watches, ms. */
  event: { p50: number; p99: number; n: number };
  /** A get beside the open watches, ms. */
  get: { p50: number; p99: number; n: number };
  /** JS heap growth per open watch, bytes (after a GC); undefined without performance.memory. */
  heapPerWatch: number | undefined;
  error?: string;
}

const heap = (): number | undefined => {
  (globalThis as { gc?: () => void }).gc?.();
  return (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
};

export async function scale(
  etcd: Etcd,
  n: number,
  samples: number,
  prefix: string,
): Promise<ScaleReport> {
  const before = heap();
  const waiting = new Map<string, () => void>();
  const abort = new AbortController();
  const t0 = performance.now();
  const watchers = Array.from({ length: n }, (_, i) => {
    const key = `${prefix}${i}`;
    const w = etcd.watch(key, { signal: abort.signal });
    void (async () => {
      try {
        for await (const _ of w) {
          waiting.get(key)?.();
          waiting.delete(key);
        }
      } catch {
        // Counted as unconfirmed below.
      }
    })();
    return w;
  });
  const report: ScaleReport = {
    watches: n,
    confirmMs: undefined,
    confirmed: 0,
    event: { p50: 0, p99: 0, n: 0 },
    get: { p50: 0, p99: 0, n: 0 },
    heapPerWatch: undefined,
  };
  try {
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 15_000 })));
    report.confirmMs = performance.now() - t0;
  } catch (e) {
    report.error = String(e);
  }
  report.confirmed = watchers.filter((w) => w.state === "watching").length;
  const after = heap();
  if (before !== undefined && after !== undefined) report.heapPerWatch = (after - before) / n;
  if (report.confirmMs === undefined) {
    abort.abort();
    return report;
  }
  const events = new Samples(samples);
  const gets = new Samples(samples);
  try {
    for (let i = 0; i < samples; i++) {
      const key = `${prefix}${(i * 7919) % n}`;
      const arrived = new Promise<void>((resolve) => waiting.set(key, resolve));
      const start = performance.now();
      await Promise.all([arrived, etcd.put(key, String(i), { timeoutMs: 5000 })]);
      events.add(performance.now() - start);
      const g = performance.now();
      await etcd.get(key, { timeoutMs: 5000 });
      gets.add(performance.now() - g);
    }
  } catch (e) {
    report.error = String(e);
  } finally {
    abort.abort();
  }
  report.event = { p50: events.quantile(0.5), p99: events.quantile(0.99), n: events.count };
  report.get = { p50: gets.quantile(0.5), p99: gets.quantile(0.99), n: gets.count };
  return report;
}
