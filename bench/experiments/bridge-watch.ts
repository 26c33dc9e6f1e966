// One watcher through etcd-web-bridge under a paced h2load put storm: is the bridge CPU-bound,
// or does its upstream stream block so that etcd moves the watcher to its catch-up path?
// The bridge runs in a child process (as in use), so its CPU is its own. Per storm: events/s
// at the watcher, watch responses (one per event while etcd's watcher keeps up; far fewer once
// etcd batches on its catch-up path), the bridge's, the watcher's and etcd's CPU, and whether the
// bridge ended its upstream stream when the watcher left. With SLOW_WATCHERS=1 it also polls
// etcd's /metrics every 100 ms for the highest etcd_debugging_mvcc_slow_watcher_total (1 once
// etcd moved the watcher to catch-up); the polling costs etcd CPU, so it is off by default.
// Watchers: "grpc" straight to etcd (the control), "grpc-web" (etcd-web over Node's fetch to the
// bridge) and "grpc-web raw" (a node:http request that only splits gRPC-Web frames and decodes
// the events, to tell the bridge's limit from the client's).
//   npx esbuild bench/experiments/bridge-watch.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/bridge-watch.mjs \
//     && node node_modules/.cache/etcd-web/bridge-watch.mjs 20000 60000 [rounds] [NAME=BUNDLE ...]
// Each NAME=BUNDLE is another bridge to compare, an ESM bundle that exports startBridge (e.g.
// src/bridge/index.ts of an older commit, bundled); the bridge of this checkout is "bridge".
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { startBridge } from "../../src/bridge/index.js";
import {
  PutRequestSchema,
  WatchRequestSchema,
  WatchResponseSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";
import { Etcd } from "../../src/node.js";
import { startEtcd } from "../lib/etcd.js";
import { grpcBody, h2load } from "../lib/h2load.js";

interface ChildReport {
  url?: string;
  cpu?: NodeJS.CpuUsage;
  openUpstreamStreams?: number;
}

if (process.argv[2] === "bridge") {
  const start: typeof startBridge = process.argv[4]
    ? ((await import(pathToFileURL(process.argv[4]).href)) as { startBridge: typeof startBridge })
        .startBridge
    : startBridge;
  const server = await start({
    listen: "127.0.0.1:0",
    etcd: [String(process.argv[3])],
    health: false,
  });
  process.send?.({ url: server.url } satisfies ChildReport);
  process.on("message", (m) => {
    if (m === "cpu") {
      process.send?.({
        cpu: process.cpuUsage(),
        openUpstreamStreams: server.bridge.stats().openUpstreamStreams,
      } satisfies ChildReport);
    } else if (m === "stop") {
      void server.close().then(() => process.exit(0));
    }
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 20_000);
  const puts = Number(process.argv[3] ?? 60_000);
  const rounds = Number(process.argv[4] ?? 2);
  const others = process.argv.slice(5).map((a) => a.split("=", 2) as [string, string]);
  const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
  const enc = new TextEncoder();

  /** A bridge in its own process: its URL, and its CPU and open upstream streams on asking. */
  async function bridgeProcess(bundle: string | undefined) {
    const args = ["bridge", etcd.url, ...(bundle ? [bundle] : [])];
    const child = fork(String(process.argv[1]), args, { stdio: "inherit" });
    let pending: ((r: ChildReport) => void) | undefined;
    child.on("message", (m: ChildReport) => pending?.(m));
    const ask = (what: string) =>
      new Promise<ChildReport>((resolve) => {
        pending = resolve;
        child.send(what);
      });
    const url = (await new Promise<ChildReport>((resolve) => (pending = resolve))).url;
    if (!url) throw new Error("the bridge did not start");
    return { url, ask, stop: () => child.send("stop") };
  }

  type Start = (prefix: string, on: (events: number) => void) => Promise<() => void>;

  const etcdWeb =
    (protocol: "grpc" | "grpc-web", url: string): Start =>
    async (prefix, on) => {
      const c = new Etcd({ endpoints: [url], protocol, health: false });
      const w = c.watch(prefix, { prefix: true });
      void (async () => {
        for await (const r of w) on(r.events.length);
      })().catch(() => {});
      await w.ready();
      return () => {
        w.cancel();
        void c.close();
      };
    };

  const raw =
    (bridgeUrl: string): Start =>
    async (prefix, on) => {
      const key = enc.encode(prefix);
      const rangeEnd = key.slice();
      rangeEnd[rangeEnd.length - 1] = (rangeEnd[rangeEnd.length - 1] ?? 0) + 1;
      const msg = toBinary(
        WatchRequestSchema,
        create(WatchRequestSchema, {
          requestUnion: { case: "createRequest", value: { key, rangeEnd } },
        }),
      );
      const body = new Uint8Array(5 + msg.length);
      new DataView(body.buffer).setUint32(1, msg.length);
      body.set(msg, 5);
      const req = request(`${bridgeUrl}/etcdserverpb.Watch/Watch`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      });
      let created: () => void = () => {};
      const ready = new Promise<void>((resolve) => (created = resolve));
      req.on("response", (res) => {
        let buf: Buffer = Buffer.alloc(0);
        res.on("data", (chunk: Buffer) => {
          buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
          while (buf.length >= 5) {
            const n = buf.readUInt32BE(1);
            if (buf.length < 5 + n) break;
            if ((buf[0] ?? 0) & 0x80) {
              buf = buf.subarray(5 + n);
              continue;
            }
            const r = fromBinary(WatchResponseSchema, buf.subarray(5, 5 + n));
            buf = buf.subarray(5 + n);
            if (r.created) created();
            else on(r.events.length);
          }
        });
        res.on("error", () => {});
      });
      req.on("error", () => {});
      req.end(body);
      await ready;
      return () => req.destroy();
    };

  type Bridge = Awaited<ReturnType<typeof bridgeProcess>>;
  const variants: Array<{ name: string; start: Start; bridge?: Bridge }> = [
    { name: "grpc", start: etcdWeb("grpc", etcd.url) },
  ];
  for (const [name, bundle] of [["bridge", undefined] as const, ...others]) {
    const bridge = await bridgeProcess(bundle);
    variants.push({ name: `${name} grpc-web`, start: etcdWeb("grpc-web", bridge.url), bridge });
    variants.push({ name: `${name} raw`, start: raw(bridge.url), bridge });
  }
  const runs = new Map<string, Array<{ kept: boolean; perSec: number; bridgeUs: number }>>();

  async function slowWatchers(): Promise<number> {
    const text = await (await fetch(`${etcd.url}/metrics`)).text();
    const m = /^etcd_debugging_mvcc_slow_watcher_total (\S+)$/m.exec(text);
    return Number(m?.[1] ?? Number.NaN);
  }

  console.log(`storm ${rate} puts/s, ${puts} puts; load ${load()}`);
  for (let round = 0; round < rounds; round++) {
    for (const { name, start, bridge } of variants) {
      const prefix = `storm/${name.replaceAll(" ", "-")}/${round}/`;
      const openBefore = (await bridge?.ask("cpu"))?.openUpstreamStreams ?? 0;
      let n = 0;
      let first = 0;
      let last = 0;
      let responses = 0;
      const stop = await start(prefix, (k) => {
        const t = performance.now();
        if (n === 0) first = t;
        n += k;
        last = t;
        responses++;
      });
      let slow = Number.NaN;
      let polling = process.env.SLOW_WATCHERS === "1";
      const poller = (async () => {
        if (polling) slow = 0;
        while (polling) {
          slow = Math.max(slow, await slowWatchers());
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const etcdPid = etcd.cluster.members[0]?.pid;
      const etcd0 = procTicks(etcdPid);
      const machine0 = machineTicks();
      const bridge0 = (await bridge?.ask("cpu"))?.cpu;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const body = grpcBody(PutRequestSchema, {
        key: enc.encode(`${prefix}k`),
        value: enc.encode("x".repeat(64)),
      });
      const s = await h2load({
        url: `${etcd.url}/etcdserverpb.KV/Put`,
        body,
        connections: 2,
        streamsPerConnection: 64,
        requests: puts,
        rpsPerConnection: rate / 2,
      });
      for (let seen = -1, idle = performance.now(); n < s.calls; ) {
        if (n !== seen) {
          seen = n;
          idle = performance.now();
        } else if (performance.now() - idle > 5_000) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const bridge1 = (await bridge?.ask("cpu"))?.cpu;
      const etcdCores = (procTicks(etcdPid) - etcd0) / 100 / wallS;
      const machine1 = machineTicks();
      const busy = 1 - (machine1.idle - machine0.idle) / (machine1.total - machine0.total);
      polling = false;
      await poller;
      stop();
      // The bridge must end its upstream stream when the watcher leaves.
      const stopped = performance.now();
      const openNow = async () =>
        ((await bridge?.ask("cpu"))?.openUpstreamStreams ?? 0) - openBefore;
      let open = await openNow();
      while (open > 0 && performance.now() - stopped < 3_000) {
        await new Promise((r) => setTimeout(r, 20));
        open = await openNow();
      }
      const closeMs = Math.round(performance.now() - stopped);
      const bridgeUs =
        bridge0 && bridge1
          ? bridge1.user + bridge1.system - bridge0.user - bridge0.system
          : Number.NaN;
      const perSec = ((n - 1) / (last - first)) * 1000;
      const kept = n >= s.calls && perSec >= 0.95 * s.perSec;
      runs.set(name, [...(runs.get(name) ?? []), { kept, perSec, bridgeUs: bridgeUs / n }]);
      console.log(
        `${name.padEnd(20)} ${Math.round(s.perSec)} puts/s → ${Math.round(perSec)} events/s`,
        `(${n}/${s.calls}, ${responses} responses), slow watchers ${slow};`,
        `bridge ${bridge ? `${Math.round(bridgeUs / 1e4 / wallS)}% of a core, ${(bridgeUs / n).toFixed(1)} µs/event` : "-"},`,
        `watcher ${((cpu.user + cpu.system) / n).toFixed(1)} µs/event; etcd ${Math.round(etcdCores * 100)}% of a core;`,
        `machine ${Math.round(busy * 100)}% busy;`,
        bridge
          ? open > 0
            ? `upstream still open after ${closeMs} ms;`
            : `upstream closed in ${closeMs} ms;`
          : "",
        `load ${load()}`,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  console.log(`\nkept up with ${rate} puts/s (every event, at >= 95% of the storm's rate):`);
  for (const [name, rs] of runs) {
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `${name.padEnd(20)} ${rs.filter((r) => r.kept).length} of ${rs.length};`,
      `median ${Math.round(median(rs.map((r) => r.perSec)))} events/s`,
      name === "grpc" ? "" : `, bridge ${median(rs.map((r) => r.bridgeUs)).toFixed(1)} µs/event`,
    );
  }
  for (const b of new Set(variants.map((v) => v.bridge))) b?.stop();
  await etcd.cluster.stop();
  process.exit(0);
}

/** utime + stime of a process, in clock ticks (100/s). */
function procTicks(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

/** All CPUs' ticks, and the idle ones (idle + iowait). */
function machineTicks(): { total: number; idle: number } {
  const cpu =
    readFileSync("/proc/stat", "utf8").split("\n")[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  const total = cpu.reduce((a, b) => a + b, 0);
  return { total, idle: (cpu[3] ?? 0) + (cpu[4] ?? 0) };
}

function load(): string {
  return loadavg()[0]?.toFixed(2) ?? "?";
}
