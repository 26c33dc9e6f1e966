import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeServer, startBridge } from "../../src/bridge/index.js";
import { KV, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "../harness/etcd.js";
import { startGrpcProxy } from "./grpc-proxy.js";
import { dec, enc, eventually, grpcWebWatch } from "./helpers.js";

// Many pages, one etcd: pages -> the bridge -> etcd's grpc-proxy -> etcd. The proxy cancels a
// Watch whose client half-closed, so the bridge must keep its send side open.
let etcd: EtcdCluster;
let proxy: Awaited<ReturnType<typeof startGrpcProxy>>;
let bridge: BridgeServer;

beforeAll(async () => {
  etcd = await EtcdCluster.start();
  proxy = await startGrpcProxy(etcd.endpoints);
  bridge = await startBridge({
    listen: "127.0.0.1:0",
    etcd: [proxy.url],
    health: false,
    log: () => {},
  });
});
afterAll(async () => {
  await bridge?.close();
  await proxy?.stop();
  await etcd?.stop();
});

/** etcd's gauge of watchers (one per watched range per stream), summed over members. */
async function etcdWatchers(): Promise<number> {
  let sum = 0;
  for (const url of etcd.endpoints) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    sum += Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  }
  return sum;
}

describe("through etcd's grpc-proxy", () => {
  it("delivers every event to 100 grpc-web watchers of one key, on fewer etcd watchers", async () => {
    const clients = 100;
    const before = await etcdWatchers();
    const watches = Array.from({ length: clients }, () =>
      grpcWebWatch(
        bridge.url,
        create(WatchRequestSchema, {
          requestUnion: { case: "createRequest", value: { key: enc("proxied/k") } },
        }),
      ),
    );
    try {
      const created = await Promise.all(watches.map((w) => w.responses.next()));
      expect(created.filter((r) => r.value?.created)).toHaveLength(clients);

      const kv = createClient(KV, createGrpcTransport({ baseUrl: etcd.endpoints[0] as string }));
      const values = ["a", "b", "c", "d", "e"];
      for (const v of values) await kv.put({ key: enc("proxied/k"), value: enc(v) });
      const seen = await Promise.all(
        watches.map(async (w) => {
          const got: string[] = [];
          while (got.length < values.length) {
            const r = await w.responses.next();
            if (r.done) break;
            for (const e of r.value.events) got.push(dec(e.kv?.value));
          }
          return got;
        }),
      );
      for (const got of seen) expect(got).toEqual(values);
      const watchers = (await etcdWatchers()) - before;
      expect(watchers).toBeGreaterThan(0);
      expect(watchers).toBeLessThan(clients);
      console.log(`100 grpc-web watchers through grpc-proxy: ${watchers} etcd watchers`);
    } finally {
      for (const w of watches) w.close();
    }
    expect(
      await eventually(
        () => bridge.bridge.stats().openUpstreamStreams,
        (n) => n === 0,
      ),
    ).toBe(0);
  });
});
