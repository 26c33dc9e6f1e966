// The one table of a run, and the notes that go with it (targets, machine, load, noise).
import type { BridgeRow } from "./bridge.js";
import type { BrowserResult } from "./browser/run.js";
import type { ScaleResult } from "./browser/scale-run.js";
import { type BundleRow, bundleLimitBytes } from "./bundle.js";
import type { CodecRow } from "./codec.js";
import type { RangeRow } from "./large-range.js";
import { int, kib, markdownTable, ms, pct, ratio } from "./lib/format.js";
import type { LoadLog, Machine } from "./lib/machine.js";
import type { Cell } from "./lib/stats.js";
import type { KvRow } from "./node-kv.js";
import type { WatchResult } from "./watch.js";

export interface Report {
  machine: Machine;
  storage: "tmpfs" | "disk";
  quick: boolean;
  repeats: number;
  loads: LoadLog;
  kv: KvRow[];
  watch: WatchResult[];
  /** The grpc watch figures again with `grpcClient: "connect-node"`. */
  watchConnectNode?: WatchResult[];
  browser: BrowserResult[];
  /** Many watches in one tab (section "scale"). */
  scale?: ScaleResult[];
  bridge: BridgeRow[];
  bundle: BundleRow[];
  /** Large Range: client CPU and wall time per call (section "range"). */
  range: RangeRow[];
  /** Message codec CPU: the generated codecs against protobuf-es (section "codec"). */
  codec?: CodecRow[];
  durationS: number;
  /** Whether the "connect-node" rows were measured. */
  connectNode: boolean;
}

const cpu = (c: Cell | undefined) =>
  c?.cpuMicrosPerCall === undefined ? "–" : String(Math.round(c.cpuMicrosPerCall));

const lat = (c: { p50: number; p99: number } | undefined) =>
  c ? `${ms(c.p50)} / ${ms(c.p99)}` : "–";

interface Target {
  what: string;
  value: string;
  holds: boolean | undefined;
}

function kvRows(r: Report, rows: string[][]): void {
  for (const row of r.kv) {
    const e3 = row.cells.etcd3;
    const h2 = row.cells.h2load;
    for (const [name, c] of Object.entries(row.cells)) {
      if (name === "etcd3" || name === "h2load") continue;
      rows.push([
        name === "etcd-web" ? "1 Node grpc" : `1 Node grpc (${name.replace("etcd-web+", "")})`,
        `${row.op}, ${row.inFlight} in flight, calls/s`,
        int(c.perSec),
        `etcd3 ${int(e3?.perSec)} · h2load ${int(h2?.perSec)}`,
        `${ratio(c.perSec, e3?.perSec)} etcd3 · ${ratio(c.perSec, h2?.perSec)} h2load`,
        `${lat(c)} (etcd3 ${lat(e3)}; h2load ${lat(h2)})`,
        `${pct(c.spread)} (etcd3 ${pct(e3?.spread ?? 0)}; h2load ${pct(h2?.spread ?? 0)})`,
        `${cpu(c)} (etcd3 ${cpu(e3)})`,
      ]);
    }
  }
}

function watchRows(results: WatchResult[], label: string, rows: string[][]): void {
  for (const w of results) {
    const area = `2 Watch ${w.protocol}${label}`;
    rows.push([
      area,
      "events/s to one watcher, put storm",
      int(w.storm.eventsPerSec),
      `storms (h2load puts/s → events/s): ${w.storm.runs
        .map(
          (s) => `${int(s.putsPerSec)} → ${int(s.eventsPerSec)}${s.keptUp ? "" : " (fell behind)"}`,
        )
        .join(" · ")}`,
      "–",
      "–",
      "one run each",
    ]);
    rows.push([
      area,
      "put→event",
      "–",
      "writer: etcd-web grpc",
      "–",
      lat(w.latency),
      `n=${w.latency.n}`,
    ]);
    rows.push([
      area,
      `${w.many.watches.toLocaleString("en-US")} watches on one client`,
      `all confirmed in ${int(w.many.createMs)} ms`,
      `client heap +${w.many.heapMiB} MiB, outside the heap +${w.many.externalMiB} MiB${w.many.bridgeRssMiB !== undefined ? `; bridge RSS +${w.many.bridgeRssMiB} MiB` : ""}`,
      "–",
      `${lat(w.many.latency)} (put→event)`,
      `n=${w.many.latency.n}`,
    ]);
  }
}

function browserRows(r: Report, rows: string[][]): void {
  for (const b of r.browser) {
    const area = `3 Chromium ${b.protocol}`;
    for (const { op, inFlight, cell: c } of b.unary) {
      rows.push([
        area,
        `${op}, ${inFlight} in flight, calls/s`,
        int(c.perSec),
        "–",
        "–",
        lat(c),
        pct(c.spread),
      ]);
    }
    rows.push([area, "put→event in the page", "–", "–", "–", lat(b.latency), `n=${b.latency.n}`]);
    const m = b.many;
    const stalled = m.delivered < m.opened || !m.probe.ok;
    rows.push([
      area,
      `${m.opened} watches in one page`,
      `${m.delivered}/${m.opened} got their event${m.lastEventMs !== undefined ? ` (last ${int(m.lastEventMs)} ms after the writes)` : ""}${m.watching !== undefined ? `; ${m.watching} confirmed by etcd` : ""}`,
      stalled ? "**stalls** at the 6-connection limit" : "no stall",
      "–",
      m.probe.ok
        ? `a call while they are open: ${ms(m.probe.ms)} ms`
        : `a call while they are open: stalled, failed after ${int(m.probe.ms)} ms`,
      "one run",
    ]);
  }
}

function scaleRows(r: Report, rows: string[][]): void {
  for (const s of r.scale ?? []) {
    const area = `3b Chromium ${s.protocol}, ${s.watches} watches in one tab`;
    const heap = s.heapPerWatch === undefined ? "–" : `${int(s.heapPerWatch)} B`;
    rows.push([
      area,
      "all confirmed, ms",
      s.confirmMs === undefined ? `**${s.confirmed}/${s.watches} confirmed**` : ms(s.confirmMs),
      "–",
      "–",
      "–",
      "one run",
    ]);
    rows.push([area, "put→event with all open", "–", "–", "–", lat(s.event), `n=${s.event.n}`]);
    rows.push([area, "a get beside them", "–", "–", "–", lat(s.get), `n=${s.get.n}`]);
    rows.push([area, "JS heap per watch (after GC)", heap, "–", "–", "–", "one run"]);
  }
}

function bridgeRows(r: Report, rows: string[][]): void {
  for (const b of r.bridge) {
    rows.push([
      "4 Bridge",
      `${b.op}, ${b.inFlight} in flight, calls/s`,
      `${int(b.bridged.perSec)} via bridge`,
      `direct grpc ${int(b.direct.perSec)}`,
      `${ratio(b.bridged.perSec, b.direct.perSec)} direct`,
      `${lat(b.bridged)} (direct ${lat(b.direct)})`,
      `${pct(b.bridged.spread)} (direct ${pct(b.direct.spread)})`,
    ]);
  }
}

function bundleRows(r: Report, rows: string[][]): void {
  for (const b of r.bundle) {
    rows.push([
      "5 Bundle",
      `get+put+watch app, ${b.protocol} from ${b.imports}${b.bundler === "vite" ? ", built by Vite" : ""}, gzip -9`,
      kib(b.gzipBytes),
      `minified ${kib(b.minifiedBytes)}`,
      "–",
      "–",
      "exact",
    ]);
  }
}

function rangeRows(r: Report, rows: string[][]): void {
  const cpuWall = (c: { cpuMs: number; wallMs: number } | undefined) =>
    c ? `${ms(c.cpuMs)} / ${ms(c.wallMs)}` : "–";
  for (const row of r.range) {
    const own = row.cells["etcd-web"];
    const cn = row.cells["etcd-web+connect-node"];
    const e3 = row.cells.etcd3;
    rows.push([
      "6 Large Range grpc",
      `get of ${row.mib} MiB (${row.keys} values of 64 KiB): client CPU ms / wall ms`,
      cpuWall(own),
      `connect-node ${cpuWall(cn)} · etcd3 ${cpuWall(e3)}`,
      `CPU ${ratio(own?.cpuMs, cn?.cpuMs)} connect-node · ${ratio(own?.cpuMs, e3?.cpuMs)} etcd3`,
      "–",
      own ? `CPU ${ms(own.cpuMinMs)}-${ms(own.cpuMaxMs)} ms, n=${row.repeats}` : "–",
    ]);
  }
}

function codecRows(r: Report, rows: string[][]): void {
  const us = (n: number) => (n < 100 ? n.toFixed(2) : int(n));
  for (const c of r.codec ?? []) {
    rows.push([
      "7 Codec",
      `${c.what} (${int(c.bytes)} B): CPU µs per message`,
      us(c.codecUs),
      `protobuf-es ${us(c.protobufEsUs)}`,
      `${ratio(c.codecUs, c.protobufEsUs)} protobuf-es`,
      "–",
      `median of ${c.repeats}`,
    ]);
  }
}

function targets(r: Report): Target[] {
  const out: Target[] = [];
  const at64 = (op: "put" | "get") => r.kv.find((k) => k.op === op && k.inFlight === 64);
  const put = at64("put");
  const get = at64("get");
  for (const name of ["etcd-web", "etcd-web+connect-node"]) {
    const suffix = name === "etcd-web" ? "" : ' (for comparison: grpcClient "connect-node")';
    const p = put?.cells[name];
    if (p && put?.cells.etcd3) {
      const x = p.perSec / put.cells.etcd3.perSec;
      out.push({
        what: `Put at 64 in flight ≥ 2× etcd3${suffix}`,
        value: `${x.toFixed(2)}×`,
        holds: x >= 2,
      });
    }
    const g = get?.cells[name];
    if (g && get?.cells.etcd3 && get.cells.h2load) {
      const x = g.perSec / get.cells.etcd3.perSec;
      const y = g.perSec / get.cells.h2load.perSec;
      out.push({
        what: `Get at 64 in flight ≥ 1.2× etcd3${suffix}`,
        value: `${x.toFixed(2)}×`,
        holds: x >= 1.2,
      });
      out.push({
        what: `Get at 64 in flight ≥ 0.9× h2load${suffix}`,
        value: `${y.toFixed(2)}×`,
        holds: y >= 0.9,
      });
    }
  }
  for (const [results, suffix] of [
    [r.watch, ""],
    [r.watchConnectNode ?? [], ' (for comparison: grpcClient "connect-node")'],
  ] as const) {
    for (const w of results) {
      out.push({
        what: `Watch ≥ 20,000 events/s to one watcher, ${w.protocol}${suffix}`,
        value: `${int(w.storm.eventsPerSec)}/s, the fastest storm it kept up with`,
        holds: w.storm.eventsPerSec >= 20_000,
      });
    }
  }
  for (const s of r.scale ?? []) {
    const where = `${s.watches} watches in one tab, ${s.protocol}`;
    if (s.watches === 500) {
      out.push({
        what: `${where}: all confirmed in < 2 s`,
        value: s.confirmMs === undefined ? `${s.confirmed} confirmed` : `${ms(s.confirmMs)} ms`,
        holds: s.confirmMs !== undefined && s.confirmMs < 2000,
      });
    }
    out.push({
      what: `${where}: put→event p99 < 50 ms`,
      value: `${ms(s.event.p99)} ms`,
      holds: s.event.n > 0 && s.event.p99 < 50,
    });
    out.push({
      what: `${where}: a get beside them, p99 < 50 ms`,
      value: `${ms(s.get.p99)} ms`,
      holds: s.get.n > 0 && s.get.p99 < 50,
    });
  }
  for (const b of r.bundle) {
    // From "etcd-web", esbuild's splitting shares the gateway's code with a grpc-web page
    // (see bench/bundle.ts); the target holds for Vite's build of it, and for the one-protocol
    // entries. The gateway's JSON code is not held to it.
    if (b.imports === "etcd-web" && (b.bundler === "esbuild" || b.protocol === "gateway")) continue;
    out.push({
      what: `gzip bundle ≤ ${int(bundleLimitBytes)} B (40 KB), ${b.protocol} from ${b.imports}${b.bundler === "vite" ? ", built by Vite" : ""}`,
      value: kib(b.gzipBytes),
      holds: b.gzipBytes <= bundleLimitBytes,
    });
  }
  return out;
}

export function renderReport(r: Report): string {
  const rows: string[][] = [];
  kvRows(r, rows);
  watchRows(r.watch, "", rows);
  watchRows(r.watchConnectNode ?? [], " (connect-node)", rows);
  browserRows(r, rows);
  scaleRows(r, rows);
  bridgeRows(r, rows);
  bundleRows(r, rows);
  rangeRows(r, rows);
  codecRows(r, rows);
  const table = markdownTable(
    [
      "Area",
      "Measure",
      "etcd-web",
      "Reference (same run)",
      "Ratio",
      "Latency p50 / p99 ms",
      "Noise",
      "Client CPU µs/call",
    ],
    rows.map((r) => (r.length < 8 ? [...r, "–"] : r)),
  );
  const t = targets(r);
  const m = r.machine;
  const l = r.loads;
  return `# etcd-web benchmark results

${r.quick ? "**Quick run (--quick): short windows, one repeat; not for comparison.**\n\n" : ""}Run ${m.date}, ${r.durationS} s, by \`npm run bench\` (see docs/bench.md). Every figure below comes from this one run.

Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; etcd ${m.etcd} (1 member on 127.0.0.1, data on ${r.storage}); h2load ${m.h2load}; Chromium ${m.chromium}.
Load (\`uptime\`, 1 min) during the run: ${l.min} to ${l.max}; other work was running on the machine.

${table}

Calls/s and latency are medians of ${r.repeats} repeat(s), each ${r.quick ? "1 s" : "2 s"} after a warm-up, client order rotated per repeat. Noise is ±half the spread (max − min) of calls/s over the repeats, as a share of the median. Client CPU is the bench process's user + system CPU time per call over the measured window (etcd-web and etcd3 run in it; h2load and etcd do not). ${r.connectNode ? '"connect-node" rows: etcd-web with `grpcClient: "connect-node"` (connect-node over node:http2) instead of its own HTTP/2 client, the default; see docs/bench.md.' : 'The "connect-node" rows were left out (--no-connect-node).'}

## Targets

${t.map((x) => `- ${x.holds === undefined ? "?" : x.holds ? "holds" : "**falls short**"}: ${x.what}: ${x.value}`).join("\n")}

## Load during the run (time, 1-min load, step)

\`\`\`
${l.entries.map((e) => `${e.at} ${e.load1.toFixed(2).padStart(5)} ${e.step}`).join("\n")}
\`\`\`

## Bundle contents (largest inputs, minified bytes)

${r.bundle.map((b) => `- ${b.protocol} from ${b.imports}: ${b.largest.map((x) => `${x.input} ${kib(x.bytes)}`).join(", ")}`).join("\n")}
`;
}
