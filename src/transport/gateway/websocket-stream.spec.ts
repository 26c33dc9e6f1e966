import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResponseError } from "../../errors/etcd-error.js";
import { Lease, Watch, type WatchRequestSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { createGatewayTransport } from "./gateway-transport.js";
import type { GatewayWebSocket, WebSocketConstructor } from "./websocket-stream.js";

type Listener = (event: never) => void;

/** A WebSocket driven by hand: the test opens it, answers on it and closes it. */
class FakeWebSocket implements GatewayWebSocket {
  static made: FakeWebSocket[] = [];
  readyState = 0;
  readonly sent: unknown[] = [];
  closedWith: number | undefined;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {
    FakeWebSocket.made.push(this);
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("InvalidStateError");
    this.sent.push(JSON.parse(data));
  }

  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 2;
    // As in browsers, the close event follows, a little later.
    setTimeout(() => this.serverClose(1005), 0);
  }

  open(): void {
    this.readyState = 1;
    this.emit("open", {});
  }

  receive(data: unknown): void {
    this.emit("message", { data: typeof data === "string" ? data : JSON.stringify(data) });
  }

  receiveBinary(): void {
    this.emit("message", { data: new ArrayBuffer(2) });
  }

  error(message?: string): void {
    this.emit("error", message === undefined ? {} : { message });
  }

  serverClose(code = 1006, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit("close", { code, reason });
  }

  private emit(type: string, event: object): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: object) => void)(event);
  }
}

const enc = (s: string) => new TextEncoder().encode(s);
const tick = () => new Promise((r) => setTimeout(r, 0));
const header = { cluster_id: "1", member_id: "2", revision: "5", raft_term: "2" };
type WatchInit = MessageInitShape<typeof WatchRequestSchema>;
const create = (key: string): WatchInit => ({
  requestUnion: { case: "createRequest", value: { key: enc(key) } },
});

function transport(
  webSocket: WebSocketConstructor | undefined = FakeWebSocket,
  base = "http://etcd:2379",
) {
  return createGatewayTransport({ baseUrl: base, webSocket });
}

async function* items<T>(list: T[]): AsyncIterable<T> {
  yield* list;
}

/** The socket the last call opened, once it exists. */
async function lastSocket(): Promise<FakeWebSocket> {
  await tick();
  const socket = FakeWebSocket.made.at(-1);
  if (!socket) throw new Error("no socket");
  return socket;
}

describe("bidi streams over the WebSocket", () => {
  it("opens ws(s):// on the method's path, sends each request as JSON, reads each result", async () => {
    const watch = createClient(Watch, transport()).watch(items([create("a"), create("b")]));
    const reader = watch[Symbol.asyncIterator]();
    const first = reader.next();
    const socket = await lastSocket();
    expect(socket.url).toBe("ws://etcd:2379/v3/watch");
    socket.open();
    await tick();
    expect(socket.sent).toEqual([
      { create_request: { key: "YQ==" } },
      { create_request: { key: "Yg==" } },
    ]);

    socket.receive({ result: { header, created: true } });
    socket.receive({ result: { header, watch_id: "1", created: true } });
    socket.receive({
      result: { header, watch_id: "1", events: [{ kv: { key: "Yg==", value: "MQ==" } }] },
    });
    expect((await first).value).toMatchObject({ created: true, watchId: 0n });
    expect((await reader.next()).value).toMatchObject({ created: true, watchId: 1n });
    const event = (await reader.next()).value;
    expect(event?.events[0]?.kv?.value).toEqual(enc("1"));
    // The input ended long ago: the socket stays open.
    expect(socket.closedWith).toBeUndefined();
  });

  it("uses wss:// for an https endpoint", async () => {
    const watch = createClient(Watch, transport(FakeWebSocket, "https://etcd:2379/prefix"));
    void watch
      .watch(items([]))
      [Symbol.asyncIterator]()
      .next()
      .catch(() => {});
    expect((await lastSocket()).url).toBe("wss://etcd:2379/prefix/v3/watch");
  });

  it("closes the socket at once when the signal fires, and fails with Canceled", async () => {
    const ac = new AbortController();
    const watch = createClient(Watch, transport()).watch(items([create("a")]), {
      signal: ac.signal,
    });
    const reader = watch[Symbol.asyncIterator]();
    const pending = reader.next();
    const socket = await lastSocket();
    socket.open();
    await tick();
    ac.abort();
    expect(socket.closedWith).toBe(1000);
    await expect(pending).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("fails with Canceled while still connecting", async () => {
    const ac = new AbortController();
    const watch = createClient(Watch, transport()).watch(items([create("a")]), {
      signal: ac.signal,
    });
    const pending = watch[Symbol.asyncIterator]().next();
    const socket = await lastSocket();
    ac.abort();
    expect(socket.closedWith).toBe(1000);
    await expect(pending).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("ends the stream at the deadline, closing the socket", async () => {
    const watch = createClient(Watch, transport()).watch(items([create("a")]), { timeoutMs: 30 });
    const pending = watch[Symbol.asyncIterator]().next();
    const socket = await lastSocket();
    socket.open();
    await expect(pending).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    expect(socket.closedWith).toBe(1000);
  });

  it("throws an error message as etcd's status and closes the socket", async () => {
    // The transport's own stream, below the client, to read again after the error.
    const res = transport().stream(
      Watch.method.watch,
      undefined,
      undefined,
      undefined,
      items([create("a")]),
    );
    const socket = await lastSocket();
    socket.open();
    const reader = (await res).message[Symbol.asyncIterator]();
    socket.receive({ error: { grpc_code: 3, http_code: 400, message: "etcdserver: no leader" } });
    const err = await reader.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.InvalidArgument, rawMessage: "etcdserver: no leader" });
    expect(socket.closedWith).toBe(1000);
    // etcd drops the connection after the error; the error stays the one reported.
    socket.serverClose();
    await expect(reader.next()).rejects.toBe(err);
  });

  it("delivers messages received before the socket closed, then Unavailable", async () => {
    const reader = createClient(Watch, transport())
      .watch(items([create("a")]))
      [Symbol.asyncIterator]();
    const first = reader.next();
    const socket = await lastSocket();
    socket.open();
    socket.receive({ result: { header, created: true } });
    socket.serverClose(1006);
    expect((await first).value?.created).toBe(true);
    const err = await reader.next().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.Unavailable });
    expect((err as Error).message).toContain("1006");
  });

  it("is Unavailable when the socket cannot open, with what the runtime said", async () => {
    const pending = createClient(Watch, transport())
      .watch(items([]))
      [Symbol.asyncIterator]()
      .next();
    const socket = await lastSocket();
    socket.error("connect ECONNREFUSED 127.0.0.1:2379");
    socket.serverClose(1006);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.Unavailable });
    expect((err as Error).message).toContain("ECONNREFUSED");
  });

  it.each([
    ["a binary message", (s: FakeWebSocket) => s.receiveBinary()],
    ["a message that is not JSON", (s: FakeWebSocket) => s.receive("<html>")],
    ["a message with neither result nor error", (s: FakeWebSocket) => s.receive({ header })],
  ])("throws a ResponseError for %s", async (_, answer) => {
    const pending = createClient(Watch, transport())
      .watch(items([]))
      [Symbol.asyncIterator]()
      .next();
    const socket = await lastSocket();
    socket.open();
    answer(socket);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err).toMatchObject({ kind: "response", endpoint: "http://etcd:2379" });
    expect(socket.closedWith).toBe(1000);
  });

  it("fails the call when its input fails", async () => {
    async function* failing(): AsyncIterable<WatchInit> {
      yield create("a");
      throw new Error("the producer broke");
    }
    const pending = createClient(Watch, transport())
      .watch(failing())
      [Symbol.asyncIterator]()
      .next();
    const socket = await lastSocket();
    socket.open();
    const err = await pending.catch((e: unknown) => e);
    expect((err as Error).message).toContain("the producer broke");
    expect(socket.sent).toHaveLength(1);
    expect(socket.closedWith).toBe(1000);
  });
});

describe("auth tokens and runtimes", () => {
  it("refuses a Watch with a token before opening a socket", async () => {
    const before = FakeWebSocket.made.length;
    const watch = createClient(Watch, transport()).watch(items([create("a")]), {
      headers: { token: "abc.1" },
    });
    const err = await watch[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.Unimplemented });
    expect((err as Error).message).toMatch(/token/);
    expect(FakeWebSocket.made.length).toBe(before);
  });

  it("keeps a lease alive with a token, which etcd does not check there", async () => {
    const replies = createClient(Lease, transport()).leaseKeepAlive(items([{ ID: 7n }]), {
      headers: { token: "abc.1" },
    });
    const first = replies[Symbol.asyncIterator]().next();
    const socket = await lastSocket();
    expect(socket.url).toBe("ws://etcd:2379/v3/lease/keepalive");
    socket.open();
    await tick();
    expect(socket.sent).toEqual([{ ID: "7" }]);
    socket.receive({ result: { header, ID: "7", TTL: "30" } });
    expect((await first).value).toMatchObject({ ID: 7n, TTL: 30n });
  });

  it("says what to pass without a WebSocket in the runtime", async () => {
    const original = globalThis.WebSocket;
    // @ts-expect-error Node 20 has no WebSocket; make sure of it here.
    globalThis.WebSocket = undefined;
    try {
      const watch = createClient(Watch, createGatewayTransport({ baseUrl: "http://e" }));
      const err = await watch
        .watch(items([]))
        [Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: Code.Unimplemented });
      expect((err as Error).message).toMatch(/webSocket option/);
    } finally {
      globalThis.WebSocket = original;
    }
  });
});
