import { afterAll, beforeAll, expect, it } from "vitest";
import { type BridgeServer, startBridge } from "../../src/bridge/index.js";
import { Etcd } from "../../src/node.js";
import { EtcdCluster } from "../harness/etcd.js";

// grpc-web in Node runs over Node's fetch (undici). A watch that is cancelled while its
// response is read behind backpressure (thousands of events in a burst) must still end the
// HTTP request, so that the proxy closes its stream to etcd: the bridge's count of open
// upstream streams tells.

let etcd: EtcdCluster;
let bridge: BridgeServer;
let writer: Etcd;

beforeAll(async () => {
  etcd = await EtcdCluster.start({});
  bridge = await startBridge({
    listen: "127.0.0.1:0",
    etcd: etcd.endpoints,
    allowOrigin: ["http://127.0.0.1:5173"],
    log: () => {},
  });
  writer = new Etcd({ endpoints: etcd.endpoints, health: false });
});

afterAll(async () => {
  await writer?.close();
  await bridge?.close();
  await etcd?.stop();
});

async function openStreamsAfter(ms: number): Promise<number> {
  const until = Date.now() + ms;
  while (bridge.bridge.stats().openUpstreamStreams > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return bridge.bridge.stats().openUpstreamStreams;
}

it("ends a grpc-web watch's request when it is cancelled after a burst of events", async () => {
  const client = new Etcd({ endpoints: [bridge.url], protocol: "grpc-web", health: false });
  try {
    for (const [round, events] of [100, 2_000, 2_000].entries()) {
      const ac = new AbortController();
      let got = 0;
      const w = client.watch(`burst/${round}/`, { prefix: true, signal: ac.signal });
      const reading = (async () => {
        for await (const r of w) {
          got += r.events.length;
          if (got >= events) ac.abort();
        }
      })().catch(() => {});
      await w.ready({ timeoutMs: 10_000 });
      expect(bridge.bridge.stats().openUpstreamStreams).toBe(1);
      await Promise.all(
        Array.from({ length: events }, (_, i) =>
          writer.put(`burst/${round}/${i % 50}`, "x".repeat(100)),
        ),
      );
      await reading;
      expect(got).toBeGreaterThanOrEqual(events);
      expect(await openStreamsAfter(3_000)).toBe(0);
    }
  } finally {
    await client.close();
  }
});
