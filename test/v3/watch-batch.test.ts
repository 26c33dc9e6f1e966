// Many watches of one client in one request, against real etcd: over grpc-web through
// etcd-web-bridge, and over the gateway with auth (POST /v3/watch, one JSON create a line).
// Every watch is confirmed, every put reaches its watch exactly once, at most two watch
// requests are open at a time, and a broken request resumes every watch exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeServer, startBridge } from "../../src/bridge/index.js";
import { Etcd, type Watcher } from "../../src/node.js";
import { EtcdCluster } from "../harness/etcd.js";

const n = 100;

/** Collects each watch's event revisions by key. */
function record(watchers: Watcher[]): Map<string, bigint[]> {
  const seen = new Map<string, bigint[]>();
  for (const w of watchers) {
    void (async () => {
      try {
        for await (const res of w) {
          for (const e of res.events) {
            const list = seen.get(e.kv.keyText) ?? [];
            list.push(e.kv.modRevision);
            seen.set(e.kv.keyText, list);
          }
        }
      } catch {
        // A failed watch shows as missing events.
      }
    })();
  }
  return seen;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** etcd's count of its open watchers. */
async function watcherGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("etcd_debugging_mvcc_watcher_total "));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

/** Puts every key once and returns the revisions, by key. */
async function putAll(writer: Etcd, prefix: string, tag: string): Promise<Map<string, bigint>> {
  const revs = new Map<string, bigint>();
  for (let i = 0; i < n; i++) {
    const key = `${prefix}${i}`;
    revs.set(key, (await writer.put(key, tag)).header.revision);
  }
  return revs;
}

function expectExactlyOnce(seen: Map<string, bigint[]>, puts: Map<string, bigint>[]) {
  for (let i = 0; i < n; i++) {
    const key = [...(puts[0]?.keys() ?? [])][i] ?? "";
    expect(seen.get(key), key).toEqual(puts.map((p) => p.get(key)));
  }
}

describe("grpc-web through the bridge", () => {
  let etcd: EtcdCluster;
  let server: BridgeServer;
  let client: Etcd;
  let writer: Etcd;
  let streams: number[] = [];
  let sampler: ReturnType<typeof setInterval>;
  const start = (listen = "127.0.0.1:0") =>
    startBridge({ listen, etcd: [etcd.endpoints[0] ?? ""], allowSameOrigin: true, log: () => {} });

  beforeAll(async () => {
    etcd = await EtcdCluster.start();
    server = await start();
    client = new Etcd({
      endpoints: [server.url],
      protocol: "grpc-web",
      health: false,
      retry: { backoff: { baseMs: 20, maxMs: 200 } },
    });
    writer = new Etcd({ endpoints: etcd.endpoints, protocol: "grpc", health: false });
    sampler = setInterval(() => streams.push(server.bridge.stats().openUpstreamStreams), 5);
  });
  afterAll(async () => {
    clearInterval(sampler);
    await client?.close();
    await writer?.close();
    await server?.close();
    await etcd?.stop();
  });

  it("confirms 100 watches on one request, answers a get beside them, delivers each put once, resumes each once after a bridge restart", async () => {
    const prefix = "gw-batch/";
    const watchers = Array.from({ length: n }, (_, i) => client.watch(`${prefix}${i}`));
    const seen = record(watchers);
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 10_000 })));
    expect((await client.get(`${prefix}0`, { timeoutMs: 5000 })).count).toBe(0n);
    expect(server.bridge.stats().openUpstreamStreams).toBe(1);
    const first = await putAll(writer, prefix, "a");
    await until("every first put delivered", () => [...seen.values()].flat().length === n);

    // The bridge goes away; writes land meanwhile; it comes back on the same port.
    const url = new URL(server.url).host;
    await server.close();
    await until("every watch reconnecting", () =>
      watchers.every((w) => w.state === "reconnecting"),
    );
    const second = await putAll(writer, prefix, "b");
    server = await start(url);
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 10_000 })));
    const third = await putAll(writer, prefix, "c");
    await until("every put delivered", () => [...seen.values()].flat().length === 3 * n);
    expectExactlyOnce(seen, [first, second, third]);
    expect(Math.max(...streams)).toBeLessThanOrEqual(2);
    await until(
      "etcd holds one watcher per watch",
      async () => (await watcherGauge(etcd.endpoints[0] ?? "")) === n,
    );
    for (const w of watchers) w.cancel();
    await until("no stream left", () => server.bridge.stats().openUpstreamStreams === 0);
    await until(
      "etcd closed every watch",
      async () => (await watcherGauge(etcd.endpoints[0] ?? "")) === 0,
    );
    streams = [];
  });

  it("re-issues the set as watches come and go, and nothing is lost or repeated across the switches", async () => {
    const prefix = "gw-churn/";
    const stay = client.watch(`${prefix}stay`);
    const seen = record([stay]);
    await stay.ready({ timeoutMs: 10_000 });
    const revs: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      const extra = client.watch(`${prefix}extra${round}`);
      revs.push((await writer.put(`${prefix}stay`, String(round))).header.revision);
      await extra.ready({ timeoutMs: 10_000 });
      revs.push((await writer.put(`${prefix}stay`, `${round}'`)).header.revision);
      extra.cancel();
    }
    await until("every put delivered", () => (seen.get(`${prefix}stay`)?.length ?? 0) >= 20);
    expect(seen.get(`${prefix}stay`)).toEqual(revs);
    await until(
      "the cancelled watches' set re-issued",
      () => server.bridge.stats().openUpstreamStreams === 1,
    );
    expect(Math.max(...streams)).toBeLessThanOrEqual(2);
    stay.cancel();
    await until("no stream left", () => server.bridge.stats().openUpstreamStreams === 0);
  });
});

describe("gateway with auth", () => {
  let etcd: EtcdCluster;
  let client: Etcd;
  let writer: Etcd;
  /** The open POST /v3/watch requests, which a test can break as a network cut would. */
  const open = new Set<AbortController>();
  let most = 0;
  const fetchCounting: typeof fetch = async (input, init) => {
    if (!String(input).endsWith("/v3/watch")) return fetch(input, init);
    const cut = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
    open.add(cut);
    most = Math.max(most, open.size);
    const res = await fetch(input, { ...init, signal }).catch((e) => {
      open.delete(cut);
      throw e;
    });
    signal.addEventListener("abort", () => open.delete(cut), { once: true });
    return res;
  };

  beforeAll(async () => {
    etcd = await EtcdCluster.start();
    const root = new Etcd({ endpoints: etcd.endpoints, protocol: "grpc", health: false });
    await root.auth.userAdd("root", "rootpw");
    await root.auth.roleAdd("root");
    await root.auth.userGrantRole("root", "root");
    await root.auth.enable();
    await root.close();
    const auth = { username: "root", password: "rootpw" };
    client = new Etcd({
      endpoints: etcd.endpoints,
      protocol: "gateway",
      auth,
      health: false,
      fetch: fetchCounting,
      retry: { backoff: { baseMs: 20, maxMs: 200 } },
    });
    writer = new Etcd({ endpoints: etcd.endpoints, protocol: "grpc", auth, health: false });
  });
  afterAll(async () => {
    await client?.close();
    await writer?.close();
    await etcd?.stop();
  });

  // One POST per watch: in one body, etcd's gateway loses the creates it has not read when it
  // starts answering (src/v3/watch-hubs.ts, requestEach).
  it("carries 100 watches, a POST each, delivers each put once, and resumes each once after a cut", async () => {
    const prefix = "gwa-batch/";
    const watchers = Array.from({ length: n }, (_, i) => client.watch(`${prefix}${i}`));
    const seen = record(watchers);
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 10_000 })));
    expect(open.size).toBe(n);
    const first = await putAll(writer, prefix, "a");
    await until("every first put delivered", () => [...seen.values()].flat().length === n);

    for (const cut of open) cut.abort(new Error("network cut"));
    const second = await putAll(writer, prefix, "b");
    await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 10_000 })));
    const third = await putAll(writer, prefix, "c");
    await until("every put delivered", () => [...seen.values()].flat().length === 3 * n);
    expectExactlyOnce(seen, [first, second, third]);
    expect(most).toBeLessThanOrEqual(2 * n);
    // The old requests' watches were closed on etcd: only the current request's remain.
    await until(
      "etcd holds one watcher per watch",
      async () => (await watcherGauge(etcd.endpoints[0] ?? "")) === n,
    );
    for (const w of watchers) w.cancel();
    await until("no watch request left", () => open.size === 0);
    await until(
      "etcd closed every watch",
      async () => (await watcherGauge(etcd.endpoints[0] ?? "")) === 0,
    );
  });
});

describe.each(["gateway", "grpc-web"] as const)(
  "%s with auth, after the token went stale",
  (protocol) => {
    let etcd: EtcdCluster;
    let server: BridgeServer | undefined;
    let client: Etcd;
    let admin: Etcd;
    const auth = { username: "root", password: "rootpw" };

    beforeAll(async () => {
      etcd = await EtcdCluster.start();
      admin = new Etcd({ endpoints: etcd.endpoints, protocol: "grpc", health: false });
      await admin.auth.userAdd("root", "rootpw");
      await admin.auth.roleAdd("root");
      await admin.auth.userGrantRole("root", "root");
      await admin.auth.enable();
      await admin.close();
      admin = new Etcd({ endpoints: etcd.endpoints, protocol: "grpc", auth, health: false });
      if (protocol === "grpc-web") {
        server = await startBridge({
          listen: "127.0.0.1:0",
          etcd: etcd.endpoints,
          allowSameOrigin: true,
          log: () => {},
        });
      }
      client = new Etcd({
        endpoints: server ? [server.url] : etcd.endpoints,
        protocol,
        auth,
        health: false,
      });
    });
    afterAll(async () => {
      await client?.close();
      await admin?.close();
      await server?.close();
      await etcd?.stop();
    });

    it("sends the set again with a fresh token, and every watch goes on", async () => {
      const a = client.watch("stale/a");
      const seenA = record([a]);
      await a.ready({ timeoutMs: 10_000 });
      // A password change drops the user's tokens, as the token's time running out does.
      await admin.auth.userChangePassword("root", "rootpw");
      const b = client.watch("stale/b");
      const seenB = record([b]);
      await b.ready({ timeoutMs: 10_000 });
      expect(a.state).toBe("watching");
      const ra = (await admin.put("stale/a", "1")).header.revision;
      const rb = (await admin.put("stale/b", "1")).header.revision;
      await until("both puts delivered", () => seenA.size === 1 && seenB.size === 1);
      expect(seenA.get("stale/a")).toEqual([ra]);
      expect(seenB.get("stale/b")).toEqual([rb]);
      a.cancel();
      b.cancel();
    });
  },
);
