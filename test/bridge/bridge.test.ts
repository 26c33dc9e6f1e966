import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeServer, startBridge } from "../../src/bridge/index.js";
import {
  Auth,
  Cluster,
  KV,
  Lease,
  Maintenance,
  Watch,
  WatchRequestSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "../harness/etcd.js";
import {
  dec,
  enc,
  etcdWatchStreams,
  eventually,
  fetchFrom,
  grpcWebWatch,
  oneRequestStream,
} from "./helpers.js";

// The bridge between connect-web (as a page uses it) and a real 3-member etcd cluster.
const page = "http://127.0.0.1:5173";
let etcd: EtcdCluster;
let bridge: BridgeServer;
const logs: string[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start({ size: 3 });
  bridge = await startBridge({
    listen: "127.0.0.1:0",
    etcd: etcd.endpoints,
    allowOrigin: [page],
    log: (line) => logs.push(line),
  });
});
afterAll(async () => {
  await bridge?.close();
  await etcd?.stop();
});

const grpcWeb = () => createGrpcWebTransport({ baseUrl: bridge.url, fetch: fetchFrom(page) });
const client = <S extends Parameters<typeof createClient>[0]>(service: S) =>
  createClient(service, grpcWeb());

describe("unary calls over gRPC-Web", () => {
  it("serves every etcd service", async () => {
    const kv = client(KV);
    const put = await kv.put({ key: enc("bridge/a"), value: enc("1") });
    const got = await kv.range({ key: enc("bridge/a") });
    expect(dec(got.kvs[0]?.value)).toBe("1");
    expect(got.kvs[0]?.modRevision).toBe(put.header?.revision);
    const txn = await kv.txn({
      compare: [
        { key: enc("bridge/a"), target: 0, result: 0, targetUnion: { case: "version", value: 1n } },
      ],
      success: [
        { request: { case: "requestPut", value: { key: enc("bridge/b"), value: enc("2") } } },
      ],
    });
    expect(txn.succeeded).toBe(true);
    expect((await kv.deleteRange({ key: enc("bridge/b") })).deleted).toBe(1n);

    const lease = client(Lease);
    const grant = await lease.leaseGrant({ TTL: 30n });
    expect((await lease.leaseTimeToLive({ ID: grant.ID })).grantedTTL).toBe(30n);
    expect((await lease.leaseLeases({})).leases.map((l) => l.ID)).toContain(grant.ID);
    await lease.leaseRevoke({ ID: grant.ID });

    expect((await client(Cluster).memberList({})).members).toHaveLength(3);
    expect((await client(Maintenance).status({})).version).toMatch(/^3\./);
    // etcd 3.4 has no AuthStatus; its answer passes through like any other.
    expect((await client(Auth).userList({})).users).toEqual([]);
    await expect(client(Auth).authStatus({})).rejects.toMatchObject({ code: Code.Unimplemented });
  });

  it("serves the Connect protocol with JSON", async () => {
    const transport = createConnectTransport({
      baseUrl: bridge.url,
      useBinaryFormat: false,
      fetch: fetchFrom(page),
    });
    const kv = createClient(KV, transport);
    await kv.put({ key: enc("bridge/json"), value: enc("j") });
    expect(dec((await kv.range({ key: enc("bridge/json") })).kvs[0]?.value)).toBe("j");
  });

  it("passes etcd's status through, and logs the failure without the token or the value", async () => {
    logs.length = 0;
    const kv = client(KV);
    const put = (token?: string) =>
      kv
        .put(
          { key: enc("bridge/secret-key-k9"), value: enc("secret-value-v7"), lease: 424242n },
          token === undefined ? {} : { headers: { token } },
        )
        .then(
          () => expect.unreachable(),
          (e: unknown) => ConnectError.from(e),
        );
    // The token reaches etcd, which checks it even with auth off.
    expect(await put("secret-token-t3")).toMatchObject({
      code: Code.Unauthenticated,
      rawMessage: "etcdserver: invalid auth token",
    });
    expect(await put()).toMatchObject({
      code: Code.NotFound,
      rawMessage: "etcdserver: requested lease not found",
    });
    expect(logs).toHaveLength(2);
    expect(logs[0]).toContain("/etcdserverpb.KV/Put failed: unauthenticated");
    expect(logs[1]).toContain("/etcdserverpb.KV/Put failed: not_found");
    expect(etcd.endpoints.some((url) => logs[1]?.includes(`; ${url}: `))).toBe(true);
    for (const secret of ["secret-token-t3", "secret-value-v7", "secret-key-k9", "424242"]) {
      expect(logs.join("\n")).not.toContain(secret);
    }
  });
});

describe("streams", () => {
  it("watches, and ends the etcd stream as soon as the page aborts", async () => {
    const before = await etcdWatchStreams(etcd.endpoints);
    const abort = new AbortController();
    const events = oneRequestStream(
      grpcWeb(),
      Watch.method.watch,
      { requestUnion: { case: "createRequest", value: { key: enc("bridge/w") } } },
      { signal: abort.signal },
    );
    const created = await events.next();
    expect(created.value?.created).toBe(true);
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(1);
    expect(await etcdWatchStreams(etcd.endpoints)).toBe(before + 1);

    await client(KV).put({ key: enc("bridge/w"), value: enc("x") });
    const event = await events.next();
    expect(dec(event.value?.events[0]?.kv?.value)).toBe("x");

    abort.abort();
    await expect(events.next()).rejects.toThrow();
    expect(
      await eventually(
        () => bridge.bridge.stats().openUpstreamStreams,
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(
      await eventually(
        () => etcdWatchStreams(etcd.endpoints),
        (n) => n === before,
      ),
    ).toBe(before);
    expect(bridge.bridge.stats().openCalls).toBe(0);
  });

  it("passes the deadline through to etcd", async () => {
    const before = await etcdWatchStreams(etcd.endpoints);
    const started = Date.now();
    const events = oneRequestStream(
      grpcWeb(),
      Watch.method.watch,
      { requestUnion: { case: "createRequest", value: { key: enc("bridge/d") } } },
      { timeoutMs: 700 },
    );
    await events.next();
    const err = await events.next().catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.DeadlineExceeded });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(
      await eventually(
        () => etcdWatchStreams(etcd.endpoints),
        (n) => n === before,
      ),
    ).toBe(before);
  });

  it("delivers a burst of writes as etcd sends them, in order", async () => {
    // The same watch straight to etcd over gRPC, beside it: what the page gets through the
    // bridge (etcd's bytes, passed through) must equal what etcd sends.
    const direct = createGrpcTransport({ baseUrl: etcd.endpoints[0] as string });
    const abort = new AbortController();
    const watched = { key: enc("bridge/burst/"), rangeEnd: enc("bridge/burst0") };
    const viaBridge = grpcWebWatch(
      bridge.url,
      create(WatchRequestSchema, { requestUnion: { case: "createRequest", value: watched } }),
    );
    const streams = [
      viaBridge.responses,
      oneRequestStream(
        direct,
        Watch.method.watch,
        { requestUnion: { case: "createRequest", value: watched } },
        { signal: abort.signal },
      ),
    ];
    for (const s of streams) expect((await s.next()).value?.created).toBe(true);
    const writes = 2_000;
    const kv = createClient(KV, direct);
    for (let i = 0; i < writes; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          kv.put({ key: enc(`bridge/burst/${i + j}`), value: enc(`v${i + j}`) }),
        ),
      );
    }
    const seen = await Promise.all(
      streams.map(async (s) => {
        const got: string[] = [];
        while (got.length < writes) {
          const r = await s.next();
          if (r.done) break;
          for (const e of r.value.events) {
            got.push(`${e.kv?.modRevision} ${dec(e.kv?.key)}=${dec(e.kv?.value)}`);
          }
        }
        return got;
      }),
    );
    viaBridge.close();
    abort.abort();
    expect(seen[0]).toHaveLength(writes);
    expect(seen[0]).toEqual(seen[1]);
    const revisions = seen[0]?.map((g) => Number(g.split(" ")[0])) ?? [];
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    await expect.poll(() => bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });

  it("serves several watches from one request body, each under its own watch_id", async () => {
    const ids = [11n, 12n, 13n];
    const w = grpcWebWatch(
      bridge.url,
      ...ids.map((id) =>
        create(WatchRequestSchema, {
          requestUnion: {
            case: "createRequest",
            value: { key: enc(`bridge/multi/${id}`), watchId: id },
          },
        }),
      ),
    );
    try {
      const created: bigint[] = [];
      while (created.length < ids.length) {
        const r = await w.responses.next();
        if (r.done) expect.unreachable("the watch ended");
        if (r.value.created) created.push(r.value.watchId);
      }
      expect(created.sort()).toEqual(ids);
      const kv = client(KV);
      for (const id of ids) await kv.put({ key: enc(`bridge/multi/${id}`), value: enc(`v${id}`) });
      const seen = new Map<bigint, string>();
      while (seen.size < ids.length) {
        const r = await w.responses.next();
        if (r.done) expect.unreachable("the watch ended");
        for (const e of r.value.events) seen.set(r.value.watchId, dec(e.kv?.value));
      }
      expect([...seen].sort()).toEqual(ids.map((id) => [id, `v${id}`]));
    } finally {
      w.close();
    }
    await expect.poll(() => bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });

  it("watches over the Connect protocol too", async () => {
    const abort = new AbortController();
    const connect = createConnectTransport({ baseUrl: bridge.url, fetch: fetchFrom(page) });
    const events = oneRequestStream(
      connect,
      Watch.method.watch,
      { requestUnion: { case: "createRequest", value: { key: enc("bridge/c") } } },
      { signal: abort.signal },
    );
    expect((await events.next()).value?.created).toBe(true);
    await client(KV).put({ key: enc("bridge/c"), value: enc("y") });
    expect(dec((await events.next()).value?.events[0]?.kv?.value)).toBe("y");
    abort.abort();
    await expect(events.next()).rejects.toThrow();
    await expect.poll(() => bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });

  it("answers one LeaseKeepAlive and ends", async () => {
    const { ID } = await client(Lease).leaseGrant({ TTL: 20n });
    const answers = [];
    for await (const a of oneRequestStream(grpcWeb(), Lease.method.leaseKeepAlive, { ID })) {
      answers.push(a);
    }
    expect(answers.map((a) => a.ID)).toEqual([ID]);
    expect(answers[0]?.TTL).toBe(20n);
  });

  it("streams a snapshot", async () => {
    let bytes = 0;
    for await (const chunk of client(Maintenance).snapshot({})) bytes += chunk.blob.length;
    expect(bytes).toBeGreaterThan(1000);
  });
});

describe("HTTP", () => {
  const preflight = (origin: string, path = "/etcdserverpb.KV/Range") =>
    fetch(`${bridge.url}${path}`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,grpc-timeout,token",
      },
    });

  it("answers the preflight of an allowed origin", async () => {
    const res = await preflight(page);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(page);
    const allowed = res.headers.get("access-control-allow-headers")?.split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining(["content-type", "x-grpc-web", "grpc-timeout", "token"]),
    );
  });

  it("exposes the gRPC status headers to an allowed page", async () => {
    const res = await fetchFrom(page)(`${bridge.url}/etcdserverpb.KV/Range`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    await res.arrayBuffer();
    expect(res.headers.get("access-control-expose-headers")?.split(/,\s*/)).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]),
    );
  });

  it("refuses a disallowed origin, and logs it", async () => {
    logs.length = 0;
    const res = await preflight("http://evil.example");
    expect(res.status).toBe(403);
    expect(logs).toEqual([
      "etcd-web-bridge: /etcdserverpb.KV/Range refused: origin http://evil.example is not allowed",
    ]);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const kv = createClient(
      KV,
      createGrpcWebTransport({ baseUrl: bridge.url, fetch: fetchFrom("http://evil.example") }),
    );
    await expect(kv.range({ key: enc("x") })).rejects.toThrow();
  });

  it("answers 404 to anything that is not an etcd method", async () => {
    for (const path of [
      "/",
      "/grpc.health.v1.Health/Check",
      "/etcdserverpb.KV/Nope",
      "/v3/kv/range",
    ]) {
      const res = await fetch(`${bridge.url}${path}`, { method: "POST", body: "" });
      expect(res.status, path).toBe(404);
    }
    expect((await preflight(page, "/other")).status).toBe(404);
  });
});

describe("failover", () => {
  it("moves a read on from a member that accepts connections but answers nothing", async () => {
    const [m0, m1, m2] = etcd.endpoints;
    const paused = await startBridge({
      listen: "127.0.0.1:0",
      etcd: [m1 ?? "", m2 ?? "", m0 ?? ""],
      dialTimeoutMs: 1000,
      health: false,
      log: () => {},
    });
    etcd.member(1).pause();
    try {
      const kv = createClient(KV, createGrpcWebTransport({ baseUrl: paused.url }));
      const started = Date.now();
      await kv.range({ key: enc("bridge/a") }, { timeoutMs: 15_000 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(paused.bridge.stats().endpoints[0]).toMatchObject({ url: m1, health: "unhealthy" });
    } finally {
      etcd.member(1).resume();
      await paused.close();
    }
    await etcd.waitForLeader();
  });

  it("moves to another member when one is killed, for unary calls and new watches", async () => {
    const kv = client(KV);
    await kv.put({ key: enc("bridge/f"), value: enc("before") });
    const watch = oneRequestStream(grpcWeb(), Watch.method.watch, {
      requestUnion: { case: "createRequest", value: { key: enc("bridge/f") } },
    });
    await watch.next();
    // The bridge is pinned to the first endpoint while it works.
    logs.length = 0;
    await etcd.member(0).kill();
    const lost = await watch.next().catch((e: unknown) => ConnectError.from(e));
    expect(lost).toMatchObject({ code: Code.Unavailable });
    await etcd.waitForLeader();

    expect(dec((await kv.range({ key: enc("bridge/f") })).kvs[0]?.value)).toBe("before");
    await kv.put({ key: enc("bridge/f"), value: enc("after") });
    const stop = new AbortController();
    const again = oneRequestStream(
      grpcWeb(),
      Watch.method.watch,
      {
        requestUnion: { case: "createRequest", value: { key: enc("bridge/f"), startRevision: 1n } },
      },
      { signal: stop.signal },
    );
    expect((await again.next()).value?.created).toBe(true);
    const replay = await again.next();
    if (replay.done) expect.unreachable("the watch ended");
    expect(replay.value.events.map((e) => dec(e.kv?.value))).toContain("after");
    stop.abort();

    const pinned = bridge.bridge.stats().endpoints.find((e) => e.url === etcd.member(0).clientUrl);
    expect(pinned?.health).toBe("unhealthy");
    expect(logs.some((l) => l.includes("/etcdserverpb.Watch/Watch failed: unavailable"))).toBe(
      true,
    );
    expect(
      await eventually(
        () => bridge.bridge.stats().openUpstreamStreams,
        (n) => n === 0,
      ),
    ).toBe(0);
  });
});
