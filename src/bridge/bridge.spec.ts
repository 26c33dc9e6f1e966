import { once } from "node:events";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { KV, Watch } from "../gen/etcdserverpb/rpc_pb.js";
import { type BridgeServer, startBridge } from "./server.js";

// The bridge against fake etcd members: connect-node gRPC servers over h2c that record what
// reaches them. The real etcd is in test/bridge.

interface Seen {
  headers: Headers[];
  timeouts: (number | undefined)[];
  connections: number;
  calls: string[];
}

async function fakeEtcd(
  kv: Partial<ServiceImpl<typeof KV>>,
  seen: Seen,
): Promise<{ url: string; server: Http2Server }> {
  const server = createServer(
    connectNodeAdapter({
      routes: (router) => {
        router.service(KV, kv);
        router.service(Watch, {
          async *watch(requests, ctx) {
            for await (const r of requests) {
              seen.calls.push("watch");
              seen.headers.push(ctx.requestHeader);
              yield { created: true, watchId: 7n, header: {} };
              void r;
            }
            // etcd keeps a watch after the client half-closes; so does this fake.
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          },
        });
      },
    }),
  );
  server.on("connection", () => seen.connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const fresh = (): Seen => ({ headers: [], timeouts: [], connections: 0, calls: [] });
const enc = (s: string) => new TextEncoder().encode(s);

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

type Member = { kv?: Partial<ServiceImpl<typeof KV>>; seen?: Seen } | "refused";

async function setup(members: Member[]) {
  const urls: string[] = [];
  for (const m of members) {
    if (m === "refused") {
      urls.push("http://127.0.0.1:1"); // nothing listens on port 1
      continue;
    }
    const fake = await fakeEtcd(m.kv ?? {}, m.seen ?? fresh());
    cleanup.push(() => fake.server.close());
    urls.push(fake.url);
  }
  const logs: string[] = [];
  const bridge: BridgeServer = await startBridge({
    listen: "127.0.0.1:0",
    etcd: urls,
    log: (l) => logs.push(l),
    retry: { backoff: { baseMs: 1, maxMs: 5 } },
    dialTimeoutMs: 300,
    // The fakes have no Maintenance service to probe.
    health: false,
  });
  cleanup.push(() => bridge.close());
  const kv = createClient(KV, createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "1.1" }));
  return { bridge, kv, urls, logs };
}

describe("what reaches etcd", () => {
  it("forwards the token and the deadline, and no other header", async () => {
    const seen = fresh();
    const { kv } = await setup([
      {
        kv: {
          range(_req, ctx) {
            seen.headers.push(ctx.requestHeader);
            seen.timeouts.push(ctx.timeoutMs());
            return {};
          },
        },
      },
    ]);
    await kv.range(
      { key: enc("k") },
      {
        timeoutMs: 4000,
        headers: { token: "tok", authorization: "Bearer x", cookie: "c=1", "x-custom": "y" },
      },
    );
    const h = seen.headers[0];
    expect(h?.get("token")).toBe("tok");
    for (const name of [
      "authorization",
      "cookie",
      "x-custom",
      "origin",
      "x-grpc-web",
      "x-user-agent",
    ]) {
      expect(h?.has(name), name).toBe(false);
    }
    expect(seen.timeouts[0]).toBeGreaterThan(3000);
    expect(seen.timeouts[0]).toBeLessThanOrEqual(4000);
  });

  it("keeps one HTTP/2 connection per etcd URL", async () => {
    const seen = fresh();
    const { kv } = await setup([{ kv: { range: () => ({}) }, seen }]);
    await Promise.all(Array.from({ length: 50 }, () => kv.range({ key: enc("k") })));
    await Promise.all(Array.from({ length: 50 }, () => kv.range({ key: enc("k") })));
    expect(seen.connections).toBe(1);
  });

  it("opens a bidi Watch upstream for a one-request stream", async () => {
    const seen = fresh();
    const { bridge } = await setup([{ seen }]);
    const transport = createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "1.1" });
    const served = { ...Watch.method.watch, methodKind: "server_streaming" as const };
    const abort = new AbortController();
    const res = await transport.stream(
      served,
      abort.signal,
      undefined,
      { token: "w" },
      (async function* () {
        yield { requestUnion: { case: "createRequest" as const, value: { key: enc("k") } } };
      })(),
    );
    const first = await res.message[Symbol.asyncIterator]().next();
    expect(first.value).toMatchObject({ created: true, watchId: 7n });
    expect(seen.headers[0]?.get("token")).toBe("w");
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(1);
    abort.abort();
    await expect.poll(() => bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });
});

describe("failover", () => {
  const noLeader = () => {
    throw new ConnectError("etcdserver: no leader", Code.Unavailable);
  };
  const recordPut = (seen: Seen): Partial<ServiceImpl<typeof KV>> => ({
    put: () => {
      seen.calls.push("put");
      return {};
    },
  });

  it("moves a read to the next member when one answers unavailable", async () => {
    const { kv, bridge } = await setup([
      { kv: { range: noLeader } },
      { kv: { range: () => ({ count: 3n }) } },
    ]);
    expect((await kv.range({ key: enc("k") })).count).toBe(3n);
    expect(bridge.bridge.stats().endpoints.map((e) => e.health)).toEqual(["unhealthy", "healthy"]);
  });

  it("does not repeat a write that may have reached a member", async () => {
    const timedOut = () => {
      throw new ConnectError("etcdserver: request timed out", Code.Unavailable);
    };
    const second = fresh();
    const { kv, logs } = await setup([{ kv: { put: timedOut } }, { kv: recordPut(second) }]);
    await expect(kv.put({ key: enc("k"), value: enc("v") })).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: "etcdserver: request timed out",
    });
    expect(second.calls).toEqual([]);
    expect(logs).toHaveLength(1);
  });

  it("sends a write to the next member when the first had no leader (nothing was proposed)", async () => {
    const second = fresh();
    const { kv } = await setup([{ kv: { put: noLeader } }, { kv: recordPut(second) }]);
    await kv.put({ key: enc("k"), value: enc("v") });
    expect(second.calls).toEqual(["put"]);
  });

  it("moves a read on from a member that does not answer, after the dial timeout", async () => {
    const started = Date.now();
    const { kv } = await setup([
      {
        kv: {
          range: (_r, ctx) =>
            new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve({}))),
        },
      },
      { kv: { range: () => ({ count: 2n }) } },
    ]);
    expect((await kv.range({ key: enc("k") })).count).toBe(2n);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("sends a write to the next member when the first refused the connection", async () => {
    const seen = fresh();
    const { kv } = await setup(["refused", { kv: recordPut(seen) }]);
    await kv.put({ key: enc("k"), value: enc("v") });
    expect(seen.calls).toEqual(["put"]);
  });

  it("answers unavailable without addresses when no member is reachable, and logs each", async () => {
    const { kv, logs, urls } = await setup(["refused"]);
    const err = await kv.range({ key: enc("k") }).then(
      () => expect.unreachable(),
      (e: unknown) => ConnectError.from(e),
    );
    expect(err).toMatchObject({ code: Code.Unavailable });
    expect(err.rawMessage).toBe("etcd-web-bridge: no etcd endpoint is available");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^etcd-web-bridge: \/etcdserverpb\.KV\/Range failed: unavailable after \d+ ms; /,
    );
    expect(logs[0]).toContain(`${urls[0]}: `);
    expect(logs[0]).toContain("ECONNREFUSED");
  });
});
