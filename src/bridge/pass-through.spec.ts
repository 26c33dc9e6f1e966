import { EventEmitter } from "node:events";
import { create, type Message, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { frame } from "../../test/fakes/fake-h2-etcd.js";
import { WatchRequestSchema } from "../gen/etcdserverpb/rpc_pb.js";
import type { Incoming, ServedCall } from "./call.js";
import { bridgedMethods } from "./etcd-methods.js";
import { defaultLimits } from "./limits.js";
import {
  type PassThroughEnv,
  type PassThroughResponse,
  servePassThrough,
  statusFrame,
  takesPassThrough,
} from "./pass-through.js";
import type { RawSink, RawStream } from "./raw-stream.js";
import { readFrames } from "./request-body.js";

const watch = bridgedMethods().find((m) => m.path === "/etcdserverpb.Watch/Watch");
if (!watch) throw new Error("no Watch method");

const watchRequest = frame(
  toBinary(
    WatchRequestSchema,
    create(WatchRequestSchema, {
      requestUnion: { case: "createRequest", value: { key: new TextEncoder().encode("k") } },
    }),
  ),
);

/** A browser's response as node:http would hold it: what was written, and its events. */
class FakeResponse extends EventEmitter implements PassThroughResponse {
  status = 0;
  headers: Record<string, string> = {};
  chunks: Buffer[] = [];
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  /** What write() answers: false is a full socket. */
  accept = true;

  writeHead(status: number, headers: Record<string, string>) {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  write(chunk: Uint8Array): boolean {
    this.headersSent = true;
    this.chunks.push(Buffer.from(chunk));
    return this.accept;
  }
  end() {
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit("close");
    return this;
  }
  /** The browser left. */
  leave() {
    this.destroyed = true;
    this.emit("close");
  }
  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** The gRPC-Web status frame at the end of the body, as text. */
  trailer(): string {
    const b = this.body();
    let at = 0;
    while (at < b.length) {
      const n = b.readUInt32BE(at + 1);
      if (b[at] === 0x80) return b.subarray(at + 5, at + 5 + n).toString();
      at += 5 + n;
    }
    return "";
  }
}

function request(body: Buffer | Buffer[], headers: Record<string, string> = {}) {
  const chunks = Array.isArray(body) ? body : [body];
  return {
    headers: { "content-type": "application/grpc-web+proto", ...headers },
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  };
}

/** An upstream stream that the test drives: sink.data(...) and sink.end(...). */
class FakeRaw implements RawStream {
  sink: RawSink | undefined;
  paused = false;
  closed = 0;
  constructor(
    readonly first: Buffer,
    readonly endpoint = "http://etcd:2379",
  ) {}
  pipe(sink: RawSink) {
    this.sink = sink;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  close = () => {
    this.closed++;
  };
}

interface Seen {
  incoming?: Incoming;
  input?: Message;
  body?: Uint8Array;
  failed: unknown[];
  ended: number;
}

function env(raw: (call: ServedCall) => Promise<RawStream>, shutdown = new AbortController()) {
  const seen: Seen = { failed: [], ended: 0 };
  const e: PassThroughEnv = {
    shutdown: shutdown.signal,
    limits: defaultLimits,
    begin(_m, incoming, input) {
      seen.incoming = incoming;
      seen.input = input;
      let error: unknown;
      incoming.signal.addEventListener("abort", () => {
        error = incoming.signal.reason;
      });
      return {
        deadline: {
          get error() {
            return error;
          },
        },
        fail(err: unknown) {
          seen.failed.push(error ?? err);
          return ConnectError.from(error ?? err);
        },
        end() {
          seen.ended++;
        },
      } as unknown as ServedCall;
    },
    raw(_m, body, call) {
      seen.body = body;
      return raw(call);
    },
  };
  return { env: e, seen };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("takesPassThrough", () => {
  it("takes binary gRPC-Web without compression, and leaves the rest to Connect", () => {
    const h = (type: string, more: Record<string, string> = {}) => ({
      "content-type": type,
      ...more,
    });
    expect(takesPassThrough("POST", h("application/grpc-web"))).toBe(true);
    expect(takesPassThrough("POST", h("application/grpc-web+proto"))).toBe(true);
    expect(
      takesPassThrough("POST", h("application/grpc-web+proto", { "grpc-encoding": "identity" })),
    ).toBe(true);
    expect(takesPassThrough("POST", h("application/grpc-web+json"))).toBe(false);
    expect(takesPassThrough("POST", h("application/grpc-web-text"))).toBe(false);
    expect(takesPassThrough("POST", h("application/connect+proto"))).toBe(false);
    expect(
      takesPassThrough("POST", h("application/grpc-web+proto", { "grpc-encoding": "gzip" })),
    ).toBe(false);
    expect(takesPassThrough("GET", h("application/grpc-web+proto"))).toBe(false);
  });
});

describe("readFrames", () => {
  const read = (b: Buffer | Buffer[], maxFrames = 1, maxBytes = 1 << 20) =>
    readFrames(
      (async function* () {
        yield* Array.isArray(b) ? b : [b];
      })(),
      { maxBytes, maxFrames, bytesOption: "--the-flag" },
      "unary",
    );
  const bad = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("accepted");
      },
      (e: unknown) => ConnectError.from(e),
    );

  it("takes the messages of a body, split anywhere", async () => {
    expect((await read(watchRequest)).frames).toEqual([
      { offset: 0, length: watchRequest.length - 5 },
    ]);
    const two = Buffer.concat([watchRequest, watchRequest]);
    const bytes = [...two].map((b) => Buffer.from([b]));
    const got = await read(bytes, 2);
    expect(got.body).toEqual(two);
    expect(got.frames.map((f) => f.offset)).toEqual([0, watchRequest.length]);
  });

  it("refuses broken framing and extra messages", async () => {
    expect((await bad(read(Buffer.alloc(0)))).rawMessage).toMatch(/missing input message/);
    expect((await bad(read(watchRequest.subarray(0, 7)))).rawMessage).toMatch(/incomplete/);
    expect((await bad(read(watchRequest.subarray(0, 3)))).rawMessage).toMatch(/incomplete/);
    expect((await bad(read(Buffer.concat([watchRequest, watchRequest])))).rawMessage).toMatch(
      /extra input/,
    );
    expect((await bad(read(frame(Buffer.from([1]), 1)))).rawMessage).toMatch(/flags 1/);
    expect((await bad(read(Buffer.alloc(0)))).code).toBe(Code.InvalidArgument);
  });

  it("refuses a frame whose length prefix is over the limit before its bytes arrive", async () => {
    const prefix = Buffer.from([0, 0x10, 0, 0, 0]); // 256 MiB announced
    let pulled = 0;
    const body = (async function* () {
      yield prefix;
      for (;;) {
        pulled++;
        yield Buffer.alloc(16_384);
      }
    })();
    const e = await bad(
      readFrames(body, { maxBytes: 2 << 20, maxFrames: 1, bytesOption: "--x" }, "unary"),
    );
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.rawMessage).toMatch(/larger than 2097152 bytes \(--x\)/);
    expect(pulled).toBe(0);
  });
});

describe("statusFrame", () => {
  it("writes gRPC-Web's last frame: flag 0x80 and the status lines", () => {
    const ok = Buffer.from(statusFrame(undefined));
    expect(ok[0]).toBe(0x80);
    expect(ok.readUInt32BE(1)).toBe(ok.length - 5);
    expect(ok.subarray(5).toString()).toBe("grpc-status: 0\r\n");
    const err = Buffer.from(statusFrame(new ConnectError("no leader here", Code.Unavailable)));
    expect(err.subarray(5).toString()).toBe(
      "grpc-message: no%20leader%20here\r\ngrpc-status: 14\r\n",
    );
  });
});

describe("servePassThrough", () => {
  it("sends etcd's bytes as they came, then etcd's status and nothing else of its trailers", async () => {
    const raw = new FakeRaw(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    const { env: e, seen } = env(async () => raw);
    const res = new FakeResponse();
    const served = servePassThrough(watch, request(watchRequest), res, e);
    await tick();
    raw.sink?.data(Buffer.from([0, 0, 0, 0, 3, 8, 2]));
    raw.sink?.data(Buffer.from([16]));
    const trailers = new Headers({
      "grpc-status": "9",
      "grpc-message": "etcdserver: mvcc: required revision has been compacted",
      "x-etcd-internal": "secret",
    });
    raw.sink?.end(trailers, undefined);
    await served;
    expect(res.status).toBe(200);
    expect(res.headers).toEqual({ "content-type": "application/grpc-web+proto" });
    expect(res.chunks.slice(0, 3)).toEqual([
      Buffer.from([0, 0, 0, 0, 2, 8, 1]),
      Buffer.from([0, 0, 0, 0, 3, 8, 2]),
      Buffer.from([16]),
    ]);
    expect(res.trailer()).toBe(
      "grpc-message: etcdserver%3A%20mvcc%3A%20required%20revision%20has%20been%20compacted\r\ngrpc-status: 9\r\n",
    );
    expect(res.writableEnded).toBe(true);
    expect(seen.body).toEqual(watchRequest);
    expect(seen.failed).toHaveLength(1);
    expect(raw.closed).toBeGreaterThan(0);
    expect(seen.ended).toBe(1);
  });

  it("ends with grpc-status 0 when etcd does, and logs nothing", async () => {
    const raw = new FakeRaw(Buffer.alloc(0));
    const { env: e, seen } = env(async () => raw);
    const res = new FakeResponse();
    const served = servePassThrough(watch, request(watchRequest), res, e);
    await tick();
    raw.sink?.end(new Headers({ "grpc-status": "0" }), undefined);
    await served;
    expect(res.body()).toEqual(Buffer.from(statusFrame(undefined)));
    expect(seen.failed).toEqual([]);
  });

  it("gives the call only the token and the deadline of the browser's headers", async () => {
    const raw = new FakeRaw(Buffer.alloc(0));
    const { env: e, seen } = env(async () => raw);
    const res = new FakeResponse();
    const served = servePassThrough(
      watch,
      request(watchRequest, { token: "tok", "grpc-timeout": "1500m", cookie: "c=1" }),
      res,
      e,
    );
    await tick();
    raw.sink?.end(new Headers({ "grpc-status": "0" }), undefined);
    await served;
    expect(seen.incoming?.token).toBe("tok");
    expect(seen.incoming?.timeoutMs).toBe(1500);
    expect(Object.keys(seen.incoming ?? {}).sort()).toEqual(["signal", "timeoutMs", "token"]);
    expect(seen.input).toMatchObject({ requestUnion: { case: "createRequest" } });
  });

  it("ends the upstream call when the browser leaves, and writes nothing more", async () => {
    const raw = new FakeRaw(Buffer.from([0, 0, 0, 0, 0]));
    let signal: AbortSignal | undefined;
    const { env: e, seen } = env(async (call) => {
      signal = (call as unknown as { deadline: unknown }) && seen.incoming?.signal;
      return raw;
    });
    const res = new FakeResponse();
    const served = servePassThrough(watch, request(watchRequest), res, e);
    await tick();
    res.leave();
    expect(signal?.aborted).toBe(true);
    const written = res.chunks.length;
    raw.sink?.data(Buffer.from([0, 0, 0, 0, 0]));
    raw.sink?.end(undefined, new ConnectError("canceled", Code.Canceled));
    await served;
    expect(res.chunks).toHaveLength(written);
    expect(raw.closed).toBeGreaterThan(0);
    expect(seen.ended).toBe(1);
  });

  it("ends open calls when the bridge shuts down", async () => {
    const raw = new FakeRaw(Buffer.alloc(0));
    const shutdown = new AbortController();
    const { env: e, seen } = env(async () => raw, shutdown);
    const served = servePassThrough(watch, request(watchRequest), new FakeResponse(), e);
    await tick();
    shutdown.abort();
    expect(seen.incoming?.signal.aborted).toBe(true);
    raw.sink?.end(undefined, new Error("closed"));
    await served;
  });

  it("stops reading etcd while the browser's socket is full", async () => {
    const raw = new FakeRaw(Buffer.alloc(0));
    const { env: e } = env(async () => raw);
    const res = new FakeResponse();
    const served = servePassThrough(watch, request(watchRequest), res, e);
    await tick();
    res.accept = false;
    raw.sink?.data(Buffer.from([0, 0, 0, 0, 0]));
    expect(raw.paused).toBe(true);
    res.accept = true;
    res.emit("drain");
    expect(raw.paused).toBe(false);
    raw.sink?.end(new Headers({ "grpc-status": "0" }), undefined);
    await served;
  });

  it("answers etcd's failure before the first response as the status", async () => {
    const { env: e, seen } = env(async () => {
      throw new ConnectError("etcd-web-bridge: no etcd endpoint is available", Code.Unavailable);
    });
    const res = new FakeResponse();
    await servePassThrough(watch, request(watchRequest), res, e);
    expect(res.trailer()).toMatch(/^grpc-message: .*\r\ngrpc-status: 14\r\n$/);
    expect(seen.failed).toHaveLength(1);
    expect(seen.ended).toBe(1);
  });

  it("rejects a broken request before the call starts: answered, not counted or logged", async () => {
    const cases: Array<[ReturnType<typeof request>, Code]> = [
      [request(frame(Buffer.from([0xff, 0xff]))), Code.InvalidArgument],
      [request(Buffer.concat([watchRequest, watchRequest.subarray(0, 7)])), Code.InvalidArgument],
      [request(watchRequest, { "grpc-timeout": "soon" }), Code.InvalidArgument],
      [request(Buffer.alloc(defaultLimits.maxWatchBodyBytes + 1)), Code.ResourceExhausted],
    ];
    for (const [req, code] of cases) {
      const { env: e, seen } = env(async () => {
        throw new Error("must not be called");
      });
      const res = new FakeResponse();
      await servePassThrough(watch, req, res, e);
      expect(res.trailer()).toMatch(
        new RegExp(`^grpc-message: .*\\r\\ngrpc-status: ${code}\\r\\n$`),
      );
      expect(seen.incoming).toBeUndefined();
    }
  });
});

describe("a Watch body of several requests", () => {
  const create1 = (id: number) =>
    frame(
      toBinary(
        WatchRequestSchema,
        create(WatchRequestSchema, {
          requestUnion: {
            case: "createRequest",
            value: { key: new TextEncoder().encode(`k${id}`), watchId: BigInt(id) },
          },
        }),
      ),
    );

  it("goes to etcd whole, each create with its own watch_id", async () => {
    const body = Buffer.concat([create1(1), create1(2), create1(3)]);
    const raw = new FakeRaw(Buffer.alloc(0));
    const { env: e, seen } = env(async () => raw);
    const res = new FakeResponse();
    const served = servePassThrough(watch, request(body), res, e);
    await tick();
    expect(seen.body).toEqual(body);
    raw.sink?.end(new Headers({ "grpc-status": "0" }), undefined);
    await served;
    expect(res.trailer()).toMatch(/grpc-status: 0/);
  });

  it("is refused past the create limit, naming the flag", async () => {
    const body = Buffer.concat(Array.from({ length: 4 }, (_, i) => create1(i + 1)));
    const { env: e, seen } = env(async () => {
      throw new Error("must not be called");
    });
    const res = new FakeResponse();
    await servePassThrough(watch, request(body), res, {
      ...e,
      limits: { ...defaultLimits, maxWatchCreates: 3 },
    });
    expect(res.trailer()).toMatch(/grpc-status: 8\r\n$/);
    expect(decodeURIComponent(res.trailer())).toMatch(
      /4 creates; the limit is 3 \(--max-watch-creates\)/,
    );
    expect(seen.incoming).toBeUndefined();
  });

  it("is refused past the body limit, naming the flag", async () => {
    const body = Buffer.concat(Array.from({ length: 4 }, (_, i) => create1(i + 1)));
    const { env: e } = env(async () => {
      throw new Error("must not be called");
    });
    const res = new FakeResponse();
    await servePassThrough(watch, request(body), res, {
      ...e,
      limits: { ...defaultLimits, maxWatchBodyBytes: body.length - 1 },
    });
    expect(res.trailer()).toMatch(/grpc-status: 8\r\n$/);
    expect(res.trailer()).toMatch(/--max-watch-body-bytes/);
  });
});
