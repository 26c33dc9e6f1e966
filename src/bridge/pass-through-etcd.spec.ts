import { constants, type ServerHttp2Stream } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeEtcd, fakeEtcd, frame } from "../../test/fakes/fake-h2-etcd.js";
import { Watch, WatchRequestSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { statusFrame } from "./pass-through.js";
import { type BridgeServer, startBridge } from "./server.js";

// Watch over gRPC-Web through the bridge, against fake etcd members that speak HTTP/2 by hand
// (node:http2): they see exactly what reaches them, and send bytes that Connect would have
// re-encoded differently.

/** etcd's answer to a watch: its headers, then messages; trailers when it ends. */
function streamOf(messages: Buffer[], trailers?: Record<string, string>) {
  return (stream: ServerHttp2Stream) => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: trailers !== undefined },
    );
    for (const m of messages) stream.write(m);
    if (trailers) {
      stream.on("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end();
    }
  };
}

// WatchResponse{created: true, watch_id: 7} with its fields out of order (3, then 2): valid
// protobuf that an encoder would write as 2, then 3. Only a pass-through keeps it so.
const created = frame(Buffer.from([0x18, 0x01, 0x10, 0x07]));

const enc = (s: string) => new TextEncoder().encode(s);

const watchRequest = frame(
  toBinary(
    WatchRequestSchema,
    create(WatchRequestSchema, {
      requestUnion: { case: "createRequest", value: { key: enc("k") } },
    }),
  ),
);

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(...answers: Array<(stream: ServerHttp2Stream) => void>) {
  const fakes: FakeEtcd[] = [];
  for (const a of answers) {
    const fake = await fakeEtcd(a);
    cleanup.push(() => new Promise((r) => fake.server.close(r)));
    cleanup.push(() => {
      for (const s of fake.sessions) s.destroy();
    });
    fakes.push(fake);
  }
  const logs: string[] = [];
  const bridge: BridgeServer = await startBridge({
    listen: "127.0.0.1:0",
    etcd: fakes.map((f) => f.url),
    log: (l) => logs.push(l),
    retry: { backoff: { baseMs: 1, maxMs: 5 } },
    dialTimeoutMs: 300,
    health: false,
  });
  cleanup.push(() => bridge.close());
  return { bridge, fakes, logs };
}

function watch(bridge: BridgeServer, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${bridge.url}/etcdserverpb.Watch/Watch`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
    body: new Uint8Array(watchRequest),
    ...(signal ? { signal } : {}),
  });
}

/** Reads the body until it holds n bytes. */
async function readBytes(res: Response, n: number): Promise<Buffer> {
  const reader = res.body?.getReader();
  let got = Buffer.alloc(0);
  while (reader && got.length < n) {
    const r = await reader.read();
    if (r.done) break;
    got = Buffer.concat([got, r.value]);
  }
  return got;
}

describe("Watch over gRPC-Web, as etcd's bytes", () => {
  it("sends etcd's messages unchanged, then etcd's status and no other trailer", async () => {
    const { bridge, logs } = await setup(
      streamOf([created, created], { "grpc-status": "0", "x-etcd-internal": "secret" }),
    );
    const res = await watch(bridge);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/grpc-web+proto");
    const body = Buffer.from(await res.arrayBuffer());
    expect(body).toEqual(Buffer.concat([created, created, statusFrame(undefined)]));
    expect(logs).toEqual([]);
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });

  it("sends etcd only the gRPC headers, the token and the deadline", async () => {
    const { bridge, fakes } = await setup(streamOf([created], { "grpc-status": "0" }));
    const res = await watch(bridge, {
      token: "tok",
      "grpc-timeout": "5S",
      authorization: "Bearer x",
      cookie: "c=1",
      "x-user-agent": "grpc-web-javascript/0.1",
    });
    await res.arrayBuffer();
    const h = fakes[0]?.requests[0] ?? {};
    const sent = Object.keys(h).filter((k) => !k.startsWith(":"));
    expect(sent.sort()).toEqual(["content-type", "grpc-timeout", "te", "token"]);
    expect(h.token).toBe("tok");
    expect(h[":path"]).toBe("/etcdserverpb.Watch/Watch");
    const ms = Number(/^(\d+)m$/.exec(String(h["grpc-timeout"]))?.[1]);
    expect(ms).toBeGreaterThan(4000);
    expect(ms).toBeLessThanOrEqual(5000);
  });

  it("grants etcd 4 MiB per stream and 16 MiB per connection", async () => {
    const { bridge, fakes } = await setup(streamOf([created]));
    const abort = new AbortController();
    const res = await watch(bridge, {}, abort.signal);
    await readBytes(res, created.length);
    const fake = fakes[0];
    expect(fake?.settings.some((s) => s.initialWindowSize === 4 << 20)).toBe(true);
    // The window etcd may still fill on the connection, after the few bytes it sent.
    expect(fake?.sessions[0]?.state.remoteWindowSize).toBeGreaterThan(16_000_000);
    abort.abort();
  });

  it("resets etcd's stream (CANCEL) as soon as the page aborts", async () => {
    const { bridge, fakes } = await setup(streamOf([created]));
    const abort = new AbortController();
    const res = await watch(bridge, {}, abort.signal);
    expect(await readBytes(res, created.length)).toEqual(created);
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(1);
    abort.abort();
    await expect.poll(() => bridge.bridge.stats().openUpstreamStreams).toBe(0);
    await expect.poll(() => fakes[0]?.resets).toEqual([constants.NGHTTP2_CANCEL]);
    expect(bridge.bridge.stats().openCalls).toBe(0);
  });

  it("passes etcd's error status through, and logs it once", async () => {
    const { bridge, logs } = await setup(
      streamOf([created], {
        "grpc-status": "9",
        "grpc-message": "etcdserver: permission denied",
        "x-etcd-internal": "secret",
      }),
    );
    const body = Buffer.from(await (await watch(bridge, { token: "secret-token" })).arrayBuffer());
    const trailer = body.subarray(created.length + 5).toString();
    expect(trailer).toBe("grpc-message: etcdserver%3A%20permission%20denied\r\ngrpc-status: 9\r\n");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^etcd-web-bridge: \/etcdserverpb\.Watch\/Watch failed: failed_precondition after \d+ ms; /,
    );
    expect(logs[0]).not.toContain("secret-token");
  });

  it("serves HTTP/2 pages (h2c) too", async () => {
    const { bridge } = await setup(streamOf([created, created], { "grpc-status": "0" }));
    const transport = createGrpcWebTransport({ baseUrl: bridge.url, httpVersion: "2" });
    const served = { ...Watch.method.watch, methodKind: "server_streaming" as const };
    const res = await transport.stream(
      served,
      undefined,
      undefined,
      undefined,
      (async function* () {
        yield { requestUnion: { case: "createRequest" as const, value: { key: enc("k") } } };
      })(),
    );
    const got = [];
    for await (const r of res.message) got.push(r);
    expect(got).toMatchObject([
      { created: true, watchId: 7n },
      { created: true, watchId: 7n },
    ]);
  });

  it("moves a new watch to the next member when the first has no leader", async () => {
    const noLeader = (stream: ServerHttp2Stream) =>
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "14",
          "grpc-message": "etcdserver: no leader",
        },
        { endStream: true },
      );
    const { bridge, fakes } = await setup(noLeader, streamOf([created], { "grpc-status": "0" }));
    const body = Buffer.from(await (await watch(bridge)).arrayBuffer());
    expect(body).toEqual(Buffer.concat([created, statusFrame(undefined)]));
    expect(fakes.map((f) => f.requests.length)).toEqual([1, 1]);
    expect(bridge.bridge.stats().endpoints.map((e) => e.health)).toEqual(["unhealthy", "healthy"]);
  });

  it("moves a new watch on from a member that answers nothing, after the dial timeout", async () => {
    const silent = () => {};
    const { bridge, fakes } = await setup(silent, streamOf([created], { "grpc-status": "0" }));
    const started = Date.now();
    const body = Buffer.from(await (await watch(bridge)).arrayBuffer());
    expect(body).toEqual(Buffer.concat([created, statusFrame(undefined)]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await expect.poll(() => fakes[0]?.resets).toEqual([constants.NGHTTP2_CANCEL]);
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });

  it("answers unavailable when a running watch loses its member", async () => {
    const { bridge, fakes, logs } = await setup(streamOf([created]));
    const res = await watch(bridge);
    const reader = res.body?.getReader();
    let body = Buffer.alloc(0);
    while (body.length < created.length) {
      const r = await reader?.read();
      if (!r || r.done) break;
      body = Buffer.concat([body, r.value]);
    }
    for (const s of fakes[0]?.sessions ?? []) s.destroy();
    for (;;) {
      const r = await reader?.read();
      if (!r || r.done) break;
      body = Buffer.concat([body, r.value]);
    }
    expect(body.subarray(created.length + 5).toString()).toBe(
      "grpc-message: etcd-web-bridge%3A%20lost%20the%20connection%20to%20etcd\r\ngrpc-status: 14\r\n",
    );
    expect(logs).toHaveLength(1);
    expect(bridge.bridge.stats().openUpstreamStreams).toBe(0);
  });
});
