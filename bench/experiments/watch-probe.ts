// One watcher under a paced h2load put storm, for etcd-web (its own HTTP/2 client and
// connect-node) and etcd3: events/s, watch responses (one per event while the watcher keeps up), and the
// client's CPU per event. Shows the bimodal outcome: a watcher that blocks etcd's send loop
// for a moment is moved to etcd's catch-up path (1,000 revisions per 100 ms) for good.
//   npx esbuild bench/experiments/watch-probe.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=node_modules/.cache/etcd-web/watch-probe.mjs \
//     && node node_modules/.cache/etcd-web/watch-probe.mjs 20000 60000
import { readFileSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { PutRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { Etcd } from "../../src/node.js";
import type { EtcdClient } from "../../src/v3/client.js";
import { startEtcd } from "../lib/etcd.js";
import { grpcBody, h2load } from "../lib/h2load.js";

const rate = Number(process.argv[2] ?? 20_000);
const puts = Number(process.argv[3] ?? 60_000);
const etcd = await startEtcd({ pageOrigin: "http://127.0.0.1:1", disk: false });
const enc = new TextEncoder();

type Start = (prefix: string, onEvents: (n: number) => void) => Promise<() => void>;

function etcdWeb(make: () => EtcdClient): Start {
  return async (prefix, on) => {
    const c = make();
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
}

const variants: Record<string, Start> = {
  "etcd-web": etcdWeb(() => new Etcd({ endpoints: [etcd.url], health: false })),
  "etcd-web gateway": etcdWeb(
    () => new Etcd({ endpoints: [etcd.url], health: false, protocol: "gateway" }),
  ),
  "etcd-web+connect-node": etcdWeb(
    () => new Etcd({ endpoints: [etcd.url], health: false, grpcClient: "connect-node" }),
  ),
  etcd3: async (prefix, on) => {
    const c = new Etcd3({ hosts: etcd.url });
    const w = await c.watch().prefix(prefix).create();
    w.on("data", (r: { events: unknown[] }) => on(r.events.length));
    return () => {
      void w.cancel();
      c.close();
    };
  },
};

for (let round = 0; round < 2; round++) {
  for (const [name, start] of Object.entries(variants)) {
    const prefix = `storm/${name}/${round}/`;
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
    const cpu0 = process.cpuUsage();
    const etcd0 = etcdCpuMs();
    const wall0 = performance.now();
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
    const until = performance.now() + 20_000;
    while (n < s.calls && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    stop();
    const cpu = process.cpuUsage(cpu0);
    const etcdShare = (etcdCpuMs() - etcd0) / (performance.now() - wall0);
    console.log(
      `${name.padEnd(15)} storm ${Math.round(s.perSec)} puts/s → ${Math.round(((n - 1) / (last - first)) * 1000)} events/s`,
      `(${n} of ${s.calls}, ${responses} responses), ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU/event,`,
      `etcd ${(etcdShare * 100).toFixed(0)}% of a core`,
    );
  }
}
await etcd.cluster.stop();
process.exit(0);

/** etcd's user + system CPU so far, in ms (Linux /proc; clock ticks of 10 ms). */
function etcdCpuMs(): number {
  const pid = etcd.cluster.member(0).pid;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
