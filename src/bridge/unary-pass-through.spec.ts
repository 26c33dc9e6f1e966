import { constants, type ServerHttp2Stream } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { type Answer, type FakeEtcd, fakeEtcd, frame } from "../../test/fakes/fake-h2-etcd.js";
import { freePort } from "../../test/harness/ports.js";
import { KV, PutRequestSchema, RangeRequestSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { statusFrame } from "./pass-through.js";
import { type BridgeServer, startBridge } from "./server.js";

// Unary calls over binary gRPC-Web pass etcd's bytes through (pass-through.ts, raw-unary.ts).
// Fake etcd members speak HTTP/2 by hand, so each test sees what reached each member. Failover
// must decide exactly as the router path (Connect's client) does: every scenario runs through
// both paths and must end alike, and the critical ones are also spelled out.

// PutResponse / RangeResponse{header: {revision: 5, cluster_id: 9}, count: 0}, with the header's
// fields out of order (revision 3, then cluster_id 1): valid protobuf an encoder would reorder.
const reply = frame(Buffer.from([0x0a, 0x04, 0x18, 0x05, 0x08, 0x09]));

/** etcd answering one message after reading the request; trailers as given. */
function answers(messages: Buffer[], trailers: Record<string, string> = { "grpc-status": "0" }) {
  return (stream: ServerHttp2Stream, request: Promise<Buffer>) => {
    void request.then(() => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers(trailers));
      for (const m of messages) stream.write(m);
      stream.end();
    });
  };
}

/** etcd's trailers-only answer: a status and no message. */
function status(code: number, message: string): Answer {
  return (stream) =>
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(code),
        "grpc-message": encodeURIComponent(message),
      },
      { endStream: true },
    );
}

const scenarios: Record<string, Answer | "refused"> = {
  ok: answers([reply]),
  refused: "refused",
  "no leader": status(14, "etcdserver: no leader"),
  "leader changed": status(14, "etcdserver: leader changed"),
  "request timed out": status(14, "etcdserver: request timed out"),
  compacted: status(11, "etcdserver: mvcc: required revision has been compacted"),
  "lease not found": status(5, "etcdserver: requested lease not found"),
  "stream refused (REFUSED_STREAM)": (s) => s.close(constants.NGHTTP2_REFUSED_STREAM),
  "reset after the request arrived": (s, r) =>
    void r.then(() => s.close(constants.NGHTTP2_INTERNAL_ERROR)),
  "connection lost after the request arrived": (s, r) => void r.then(() => s.session?.destroy()),
  "no answer (paused member)": () => {},
  "HTTP 503": (s) => s.respond({ ":status": 503 }, { endStream: true }),
  "no message, status 0 in trailers": answers([]),
  "no message, status 0 in headers": status(0, ""),
  "two messages": answers([reply, reply]),
  "a message, then an error status": answers([reply], {
    "grpc-status": "9",
    "grpc-message": "etcdserver: permission denied",
  }),
  "a message cut short": answers([reply.subarray(0, 7)]),
  "a body that is not protobuf": answers([frame(Buffer.from([0xff, 0xff, 0xff]))]),
};

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A bridge over members that answer as given, the first one pinned. */
async function setup(...answers: Array<Answer | "refused">) {
  const fakes: Array<FakeEtcd | undefined> = [];
  const urls: string[] = [];
  for (const a of answers) {
    if (a === "refused") {
      fakes.push(undefined);
      urls.push(`http://127.0.0.1:${await freePort()}`);
      continue;
    }
    const fake = await fakeEtcd(a);
    cleanup.push(() => new Promise((r) => fake.server.close(r)));
    cleanup.push(() => {
      for (const s of fake.sessions) s.destroy();
    });
    fakes.push(fake);
    urls.push(fake.url);
  }
  const logs: string[] = [];
  const bridge: BridgeServer = await startBridge({
    listen: "127.0.0.1:0",
    etcd: urls,
    log: (l) => logs.push(l),
    retry: { backoff: { baseMs: 1, maxMs: 5 } },
    dialTimeoutMs: 300,
    health: false,
  });
  cleanup.push(() => bridge.close());
  const reached = () => fakes.map((f) => f?.requests.length ?? 0);
  return { bridge, fakes, logs, reached };
}

const enc = (s: string) => new TextEncoder().encode(s);
const putInput = { key: enc("k"), value: enc("v") };
const rangeInput = { key: enc("k") };

type Path = "pass-through" | "router";

/** The page's call: binary gRPC-Web takes the pass-through, the Connect protocol the router. */
function transport(bridge: BridgeServer, path: Path): Transport {
  const options = { baseUrl: bridge.url, httpVersion: "1.1" as const };
  return path === "pass-through"
    ? createGrpcWebTransport(options)
    : createConnectTransport(options);
}

/** What the page got: the answer's revision, or the error's code and message. */
async function outcome(bridge: BridgeServer, path: Path, write: boolean) {
  const t = transport(bridge, path);
  try {
    const res = write
      ? await t.unary(KV.method.put, undefined, 5_000, undefined, putInput)
      : await t.unary(KV.method.range, undefined, 5_000, undefined, rangeInput);
    return { revision: res.message.header?.revision };
  } catch (e) {
    const ce = ConnectError.from(e);
    return { code: Code[ce.code], message: ce.rawMessage };
  }
}

describe("unary calls over gRPC-Web, as etcd's bytes", () => {
  it("sends etcd the page's bytes, and the page etcd's bytes and status", async () => {
    const { bridge, fakes, logs } = await setup(answers([reply]));
    const request = frame(toBinary(PutRequestSchema, create(PutRequestSchema, putInput)));
    const res = await fetch(`${bridge.url}/etcdserverpb.KV/Put`, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
        token: "tok",
        "grpc-timeout": "5S",
        authorization: "Bearer x",
        cookie: "c=1",
      },
      body: new Uint8Array(request),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/grpc-web+proto");
    const body = Buffer.from(await res.arrayBuffer());
    expect(body).toEqual(Buffer.concat([reply, statusFrame(undefined)]));
    expect(fakes[0]?.bodies).toEqual([request]);
    const h = fakes[0]?.requests[0] ?? {};
    expect(
      Object.keys(h)
        .filter((k) => !k.startsWith(":"))
        .sort(),
    ).toEqual(["content-type", "grpc-timeout", "te", "token"]);
    expect(h[":path"]).toBe("/etcdserverpb.KV/Put");
    expect(logs).toEqual([]);
    expect(bridge.bridge.stats()).toMatchObject({ openCalls: 0, calls: 1, failedCalls: 0 });
  });

  it("passes etcd's error status through unchanged, and logs it once without the token", async () => {
    const { bridge, logs } = await setup(
      status(11, "etcdserver: mvcc: required revision has been compacted"),
    );
    const res = await fetch(`${bridge.url}/etcdserverpb.KV/Range`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", token: "secret-token" },
      body: new Uint8Array(
        frame(toBinary(RangeRequestSchema, create(RangeRequestSchema, rangeInput))),
      ),
    });
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(5).toString()).toBe(
      "grpc-message: etcdserver%3A%20mvcc%3A%20required%20revision%20has%20been%20compacted\r\ngrpc-status: 11\r\n",
    );
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^etcd-web-bridge: \/etcdserverpb\.KV\/Range failed: out_of_range /);
    expect(logs[0]).not.toContain("secret-token");
  });

  it("does not repeat a write that reached a member that then failed", async () => {
    for (const first of [
      scenarios["reset after the request arrived"],
      scenarios["connection lost after the request arrived"],
      scenarios["no answer (paused member)"],
      scenarios["leader changed"],
    ]) {
      const { bridge, reached } = await setup(first as Answer, answers([reply]));
      expect(await outcome(bridge, "pass-through", true)).toMatchObject({ code: "Unavailable" });
      expect(reached()).toEqual([1, 0]);
    }
  });

  it("repeats a read on the next member after any member failure", async () => {
    for (const first of [
      scenarios["reset after the request arrived"],
      scenarios["connection lost after the request arrived"],
      scenarios["no answer (paused member)"],
    ]) {
      const { bridge, reached } = await setup(first as Answer, answers([reply]));
      expect(await outcome(bridge, "pass-through", false)).toEqual({ revision: 5n });
      expect(reached()).toEqual([1, 1]);
    }
  });

  it("sends a write to the next member when the first had no leader or refused the connection", async () => {
    const noLeader = await setup(scenarios["no leader"] as Answer, answers([reply]));
    expect(await outcome(noLeader.bridge, "pass-through", true)).toEqual({ revision: 5n });
    expect(noLeader.reached()).toEqual([1, 1]);
    const refused = await setup("refused", answers([reply]));
    expect(await outcome(refused.bridge, "pass-through", true)).toEqual({ revision: 5n });
    expect(refused.reached()).toEqual([0, 1]);
  });

  it("answers an error, never an empty success, when etcd sends no message", async () => {
    const { bridge } = await setup(answers([]));
    const got = await outcome(bridge, "pass-through", false);
    expect(got).not.toHaveProperty("revision");
    expect(got).toHaveProperty("code");
  });

  it("resets etcd's stream (CANCEL) when the page aborts", async () => {
    const { bridge, fakes } = await setup(() => {});
    const abort = new AbortController();
    const call = fetch(`${bridge.url}/etcdserverpb.KV/Range`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: new Uint8Array(
        frame(toBinary(RangeRequestSchema, create(RangeRequestSchema, rangeInput))),
      ),
      signal: abort.signal,
    });
    await expect.poll(() => fakes[0]?.requests.length).toBe(1);
    abort.abort();
    await expect(call).rejects.toThrow();
    await expect.poll(() => fakes[0]?.resets).toEqual([constants.NGHTTP2_CANCEL]);
    await expect.poll(() => bridge.bridge.stats().openCalls).toBe(0);
  });

  describe("ends each call as the router path does", () => {
    for (const [name, first] of Object.entries(scenarios)) {
      for (const write of [true, false]) {
        it(`${write ? "Put" : "Range"}: first member ${name}`, async () => {
          const got = [];
          for (const path of ["pass-through", "router"] as const) {
            const { bridge, reached, logs } = await setup(first, answers([reply]));
            got.push({ path, outcome: await outcome(bridge, path, write), reached: reached() });
            // Failures are logged once; successes not at all.
            expect(logs.length).toBe("revision" in (got.at(-1)?.outcome ?? {}) ? 0 : 1);
          }
          const [fast, router] = got;
          expect({ ...fast, path: "" }).toEqual({ ...router, path: "" });
        });
      }
    }
  });
});
