// Section "scale": 100 and 500 watches in one Chromium tab, on grpc-web (through the bridge on
// the page's own HTTP/1.1 origin) and on the gateway. Each count gets a fresh browser context.
import { launchChromium } from "../lib/chromium.js";
import type { BenchPage } from "./page.js";
import type { ScaleReport } from "./scale-page.js";

export const scaleProtocols = ["grpc-web", "gateway"] as const;

export interface ScaleResult extends ScaleReport {
  protocol: (typeof scaleProtocols)[number];
}

export interface ScaleOptions {
  origin: string;
  bridgeUrl: string;
  etcdUrl: string;
  counts: readonly number[];
  samples: number;
  onStep?: (step: string) => void;
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult[]> {
  // performance.memory unrounded, and gc() before each heap reading.
  const browser = await launchChromium(["--enable-precise-memory-info", "--js-flags=--expose-gc"]);
  const results: ScaleResult[] = [];
  try {
    for (const protocol of scaleProtocols) {
      for (const n of o.counts) {
        o.onStep?.(`scale ${protocol} ${n} watches`);
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          page.setDefaultTimeout(120_000);
          await page.goto(`${o.origin}/`);
          await page.waitForFunction(
            () => document.getElementById("status")?.textContent === "ready",
          );
          const report = await page.evaluate(
            async ([cfg, p, count, samples]) => {
              const bench = (globalThis as unknown as { bench: BenchPage }).bench;
              bench.init(cfg);
              return bench.scaleWatches(p, count, samples);
            },
            [{ bridgeUrl: o.bridgeUrl, etcdUrl: o.etcdUrl }, protocol, n, o.samples] as const,
          );
          results.push({ protocol, ...report });
        } finally {
          await context.close();
        }
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}
