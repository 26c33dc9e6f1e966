// `npm run bench`: starts its own etcd, measures etcd-web against etcd3 and h2load in Node, its
// watch on every protocol, the browser page in Chromium, the bridge and the bundle, and prints
// one table from that one run (also written to bench/RESULTS.md). See docs/bench.md.
//
// Node 20 does not run TypeScript: package.json bundles this file with esbuild and runs the
// bundle (bench/results/main.mjs), which is also what the page server child process runs.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Etcd } from "../src/node.js";
import { freePort } from "../test/harness/ports.js";
import { type BridgeRow, runBridge } from "./bridge.js";
import { type BrowserResult, runBrowser } from "./browser/run.js";
import { runScale } from "./browser/scale-run.js";
import { serve } from "./browser/server.js";
import { type BundleRow, bundlePages, bundleSize, viteBundleSize, vitePages } from "./bundle.js";
import { runCodec } from "./codec.js";
import {
  etcd3RangeClient,
  etcdWebRangeClient,
  type RangeClient,
  type RangeRow,
  runLargeRange,
} from "./large-range.js";
import { startEtcd } from "./lib/etcd.js";
import { LoadLog, machine } from "./lib/machine.js";
import { buildPage, startPageServer } from "./lib/page-server.js";
import { type KvClient, type KvRow, kvKey, kvValue, runKv } from "./node-kv.js";
import { type Report, renderReport } from "./report.js";
import { runWatch, type WatchResult } from "./watch.js";

const sections = ["kv", "watch", "browser", "scale", "bridge", "bundle", "range", "codec"] as const;
type Section = (typeof sections)[number];

async function main(): Promise<void> {
  if (process.argv[2] === "serve") {
    await serve(Number(process.argv[3]), String(process.argv[4]));
    return;
  }
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      repeats: { type: "string" },
      disk: { type: "boolean", default: false },
      "no-connect-node": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const root = process.cwd();
  if (!existsSync(join(root, "bench", "main.ts"))) {
    throw new Error("run the bench from the repository root: npm run bench");
  }
  const quick = values.quick ?? false;
  const only = new Set<Section>(
    (values.only?.split(",") ?? sections).map((s) => {
      if (!sections.includes(s as Section)) throw new Error(`--only: unknown section "${s}"`);
      return s as Section;
    }),
  );
  const repeats = Number(values.repeats ?? (quick ? 1 : 3));
  // etcd-web again with `grpcClient: "connect-node"` (connect-node over node:http2), so the
  // table shows what the default HTTP/2 client buys.
  const withConnectNode = !values["no-connect-node"];
  const outFile =
    values.out ??
    (quick || only.size < sections.length
      ? join("bench", "results", "RESULTS.partial.md")
      : join("bench", "RESULTS.md"));
  const self = process.argv[1] ?? "";
  mkdirSync(join(root, "bench", "results"), { recursive: true });

  const loads = new LoadLog();
  const step = (s: string) => {
    loads.mark(s);
    console.error(`[bench ${loads.entries.at(-1)?.at}] ${s} (load ${loads.entries.at(-1)?.load1})`);
  };
  const started = Date.now();
  const m = machine();
  step("start");
  const port = await freePort();
  const pageOrigin = `http://127.0.0.1:${port}`;
  const etcd = await startEtcd({ pageOrigin, disk: values.disk ?? false });
  const page = await startPageServer({
    self,
    port,
    etcdUrl: etcd.url,
    script: await buildPage(join(root, "bench", "browser", "page.ts")),
    logFile: join(root, "bench", "results", "page-server.log"),
  });
  const writer = new Etcd({ endpoints: [etcd.url], health: false });
  const report: Report = {
    machine: m,
    storage: etcd.storage,
    quick,
    repeats,
    loads,
    kv: [],
    watch: [],
    browser: [],
    bridge: [],
    bundle: [],
    range: [],
    codec: [],
    durationS: 0,
    connectNode: withConnectNode,
  };
  try {
    await writer.put(kvKey, kvValue);
    const timing = quick
      ? { durationMs: 1000, warmupMs: 300 }
      : { durationMs: 2000, warmupMs: 500 };
    if (only.has("kv")) {
      const clients: Array<() => KvClient> = [
        () => webClient("etcd-web", new Etcd({ endpoints: [etcd.url] })),
      ];
      if (withConnectNode) {
        clients.push(() =>
          webClient(
            "etcd-web+connect-node",
            new Etcd({ endpoints: [etcd.url], grpcClient: "connect-node" }),
          ),
        );
      }
      report.kv = await runKv({
        etcdUrl: etcd.url,
        clients,
        inFlight: [1, 16, 64, 256],
        repeats,
        ...timing,
        onStep: step,
      });
    }
    if (only.has("watch")) {
      const watchOpts = {
        etcdUrl: etcd.url,
        bridgeUrl: page.bridgeUrl,
        bridgeStatsUrl: `${page.origin}/stats`,
        writer,
        stormRates: [10_000, 21_000, 30_000],
        stormSeconds: quick ? 1.5 : 2,
        stormTries: quick ? 1 : 3,
        latencySamples: quick ? 100 : 300,
        watches: 1000,
        manyLatencySamples: quick ? 50 : 200,
        onStep: step,
      };
      report.watch = await runWatch(watchOpts);
      if (withConnectNode) {
        report.watchConnectNode = await runWatch({
          ...watchOpts,
          client: (protocol, endpoint) =>
            new Etcd({
              endpoints: [endpoint],
              protocol,
              health: false,
              grpcClient: "connect-node",
            }),
          protocols: ["grpc"],
        });
      }
    }
    if (only.has("browser")) {
      report.browser = await runBrowser({
        origin: page.origin,
        bridgeUrl: page.bridgeUrl,
        etcdUrl: etcd.url,
        writer,
        inFlight: [1, 16],
        repeats,
        ...timing,
        latencySamples: quick ? 50 : 200,
        watches: 50,
        onStep: step,
      });
    }
    if (only.has("scale")) {
      report.scale = await runScale({
        origin: page.origin,
        bridgeUrl: page.bridgeUrl,
        etcdUrl: etcd.url,
        counts: [100, 500],
        samples: quick ? 50 : 500,
        onStep: step,
      });
    }
    if (only.has("bridge")) {
      report.bridge = await runBridge({
        etcdUrl: etcd.url,
        bridgeUrl: page.bridgeUrl,
        inFlight: [1, 64],
        repeats,
        ...timing,
        onStep: step,
      });
    }
    if (only.has("bundle")) {
      step("bundle");
      report.bundle = [];
      for (const [protocol, imports, page] of bundlePages) {
        report.bundle.push(await bundleSize(protocol, imports, page));
      }
      for (const [protocol, imports, page] of vitePages) {
        report.bundle.push(await viteBundleSize(protocol, imports, page));
      }
    }
    if (only.has("range")) {
      // A 13 MiB Range may take longer than the 5 s attempt limit on a loaded machine.
      const o = { endpoints: [etcd.url], health: false, dialTimeoutMs: 120_000 } as const;
      const clients: Array<() => RangeClient> = [() => etcdWebRangeClient("etcd-web", new Etcd(o))];
      if (withConnectNode) {
        clients.push(() =>
          etcdWebRangeClient(
            "etcd-web+connect-node",
            new Etcd({ ...o, grpcClient: "connect-node" }),
          ),
        );
      }
      clients.push(() => etcd3RangeClient(etcd.url));
      report.range = await runLargeRange({
        writer,
        clients,
        sizesMiB: [1, 4, 13],
        repeats: quick ? 3 : 5,
        onStep: step,
      });
    }
    if (only.has("codec")) {
      report.codec = runCodec(quick ? 3 : 7, step);
    }
    step("end");
  } finally {
    await writer.close();
    await page.stop();
    await etcd.cluster.stop();
  }
  report.durationS = Math.round((Date.now() - started) / 1000);
  const text = renderReport(report);
  console.log(text);
  writeFileSync(join(root, outFile), text);
  console.error(`written to ${outFile}`);
}

function webClient(
  name: string,
  c: { put: Etcd["put"]; get: Etcd["get"]; close(): Promise<void> },
): KvClient {
  return {
    name,
    put: () => c.put(kvKey, kvValue),
    get: () => c.get(kvKey).then((r) => r.first?.text()),
    close: () => c.close(),
  };
}

export type { BridgeRow, BrowserResult, BundleRow, KvRow, RangeRow, WatchResult };

main().then(
  () => {
    if (process.argv[2] !== "serve") process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
