// Section 3: the page in Chromium (Playwright), over grpc-web (bridge), gateway and v2.
import type { Page } from "@playwright/test";
import type { Etcd } from "../../src/node.js";
import { launchChromium } from "../lib/chromium.js";
import { type Cell, type Rate, summarise } from "../lib/stats.js";
import type { BenchPage, PageProtocol } from "./page.js";

export const pageProtocols: readonly PageProtocol[] = ["grpc-web", "gateway", "v2"];

export interface BrowserResult {
  protocol: PageProtocol;
  /** Unary calls by op and calls in flight. */
  unary: Array<{ op: "put" | "get"; inFlight: number; cell: Cell }>;
  /** put→event in the page. */
  latency: { p50: number; p99: number; n: number };
  /** 50 watches in one page. */
  many: {
    opened: number;
    watching: number | undefined;
    delivered: number;
    lastEventMs: number | undefined;
    probe: { ok: boolean; ms: number; error?: string };
  };
}

export interface BrowserOptions {
  origin: string;
  bridgeUrl: string;
  etcdUrl: string;
  /** A Node client on grpc that writes the watched keys from outside the page. */
  writer: Etcd;
  inFlight: readonly number[];
  durationMs: number;
  repeats: number;
  latencySamples: number;
  watches: number;
  onStep?: (step: string) => void;
}

type Bench = BenchPage;

async function call<K extends keyof Bench>(
  page: Page,
  name: K,
  ...args: Parameters<Bench[K]>
): Promise<Awaited<ReturnType<Bench[K]>>> {
  return page.evaluate(
    ([n, a]) => {
      const b = (globalThis as unknown as { bench: Record<string, (...x: unknown[]) => unknown> })
        .bench;
      return b[n as string]?.(...(a as unknown[]));
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Bench[K]>>>;
}

export async function runBrowser(o: BrowserOptions): Promise<BrowserResult[]> {
  const browser = await launchChromium();
  const results: BrowserResult[] = [];
  try {
    const open = async () => {
      // A fresh context per test: its own connection pool, so that one test's open
      // connections cannot stall the next.
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(120_000);
      await page.goto(`${o.origin}/`);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
      await call(page, "init", { bridgeUrl: o.bridgeUrl, etcdUrl: o.etcdUrl });
      return { page, close: () => context.close() };
    };
    for (const protocol of pageProtocols) {
      const { page, close } = await open();
      try {
        o.onStep?.(`browser ${protocol} unary`);
        const unary: BrowserResult["unary"] = [];
        for (const inFlight of o.inFlight) {
          for (const op of ["put", "get"] as const) {
            const runs: Rate[] = [];
            for (let r = 0; r < o.repeats; r++) {
              runs.push(await call(page, "unary", protocol, op, inFlight, o.durationMs));
            }
            unary.push({ op, inFlight, cell: summarise(runs) });
          }
        }
        o.onStep?.(`browser ${protocol} latency`);
        const latency = await call(page, "latency", protocol, o.latencySamples);
        results.push({
          protocol,
          unary,
          latency,
          many: {
            opened: 0,
            watching: undefined,
            delivered: 0,
            lastEventMs: undefined,
            probe: { ok: false, ms: 0 },
          },
        });
      } finally {
        await close();
      }
      // The many-watch test gets a page of its own, since it may leave connections stalled.
      const fresh = await open();
      try {
        o.onStep?.(`browser ${protocol} ${o.watches} watches`);
        const prefix = `bench/page/many/${protocol}/${Date.now()}/`;
        await call(fresh.page, "openWatches", protocol, o.watches, prefix);
        // Give every watch that can connect the time to do so; try a call beside them; then
        // write each key once.
        await new Promise((r) => setTimeout(r, 1500));
        await call(fresh.page, "probeCall");
        await call(fresh.page, "markWrites");
        await writeKeys(o, protocol, prefix);
        const many = await call(fresh.page, "watchReport", 5000);
        await call(fresh.page, "closeWatches");
        const last = results[results.length - 1];
        if (last) last.many = many;
      } finally {
        await fresh.close();
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}

async function writeKeys(o: BrowserOptions, protocol: PageProtocol, prefix: string): Promise<void> {
  const keys = Array.from({ length: o.watches }, (_, i) => `${prefix}${i}`);
  if (protocol !== "v2") {
    await Promise.all(keys.map((k) => o.writer.put(k, "1")));
    return;
  }
  // v2 keys live in etcd's v2 store, apart from v3's.
  await Promise.all(
    keys.map(async (k) => {
      const res = await fetch(`${o.etcdUrl}/v2/keys/${k}`, {
        method: "PUT",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "value=1",
      });
      if (!res.ok) throw new Error(`v2 put ${k}: HTTP ${res.status}`);
      await res.arrayBuffer();
    }),
  );
}
