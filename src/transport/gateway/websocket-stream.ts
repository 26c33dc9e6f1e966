import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { notEtcd, type ResponseSource, unavailable } from "./error-mapping.js";
import { authToken } from "./http-post.js";
import { decodeStreamMessage, encodeRequest, parseJson } from "./json-codec.js";

/**
 * The part of the WebSocket API the transport uses: the browser's WebSocket and the `ws`
 * package's both fit.
 */
export interface GatewayWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(type: "open" | "error", listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string) => GatewayWebSocket;

const OPEN = 1;

// etcd's WebSocket gateway (grpc-websocket-proxy) passes no Authorization header of the upgrade
// request on, and turns a "Bearer, <token>" subprotocol into "Authorization: Bearer <token>",
// which etcd refuses as an invalid token (etcd-io/etcd#19752; checked on etcd 3.4.23). A browser
// cannot set headers on a WebSocket at all. So a token cannot reach etcd over this path. etcd
// does not check tokens on LeaseKeepAlive, which therefore works without one.
const servedWithoutToken = new Set(["etcdserverpb.Lease.LeaseKeepAlive"]);

/**
 * A bidi call over etcd's WebSocket gateway: each request goes as one JSON text message, each
 * response comes as {"result": ...} or {"error": ...}. The input ending does not close the
 * socket (a Watch keeps delivering); the call's signal does, at once. etcd never ends these
 * streams cleanly, so a socket that closes without an error message is Unavailable.
 */
export async function webSocketStream<I extends DescMessage, O extends DescMessage>(
  endpoint: string,
  createSocket: WebSocketConstructor | undefined,
  req: StreamRequest<I, O>,
): Promise<StreamResponse<I, O>> {
  const method = `${req.method.parent.typeName}.${req.method.name}`;
  if (authToken(req.header) !== undefined && !servedWithoutToken.has(method)) {
    throw new ConnectError(
      `${req.method.parent.name}.${req.method.name} with an auth token cannot go over etcd's ` +
        "WebSocket gateway, which does not pass the token on (etcd-io/etcd#19752): use the " +
        "grpc or grpc-web protocol, or a server-streaming call (one request, sent by POST)",
      Code.Unimplemented,
    );
  }
  if (createSocket === undefined) {
    throw new ConnectError(
      "no WebSocket in this runtime: pass the webSocket option (in Node, WebSocket from ws)",
      Code.Unimplemented,
    );
  }
  const url = req.url.replace(/^http/, "ws");
  const source: ResponseSource = { endpoint, url };
  const socket = new createSocket(url);
  const inbox = new Inbox<MessageShape<O>>();
  let opened = false;
  let lastError = "";

  const input = req.message[Symbol.asyncIterator]();
  const fail = (error: unknown) => {
    inbox.fail(error);
    if (socket.readyState <= OPEN) socket.close(1000);
    // Lets the input's source let go, as connect's transports do.
    void Promise.resolve()
      .then(() => input.return?.())
      .catch(() => {});
  };
  if (req.signal.aborted) fail(req.signal.reason);
  req.signal.addEventListener("abort", () => fail(req.signal.reason), { once: true });

  socket.addEventListener("open", () => {
    opened = true;
    inbox.ready();
    void send(input, socket, req.method.input, fail);
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      fail(notEtcd("a binary WebSocket message", source));
      return;
    }
    try {
      inbox.push(decodeStreamMessage(req.method.output, parseJson(event.data, source), source));
    } catch (e) {
      fail(e);
    }
  });
  socket.addEventListener("error", (event) => {
    // Browsers say nothing about the error; ws gives a message.
    const message = (event as { message?: unknown }).message;
    if (typeof message === "string") lastError = message;
  });
  socket.addEventListener("close", (event) => {
    const why = `code ${event.code}${event.reason ? `, ${event.reason}` : ""}`;
    const detail = lastError ? `: ${lastError}` : "";
    fail(
      opened
        ? unavailable(`the WebSocket to ${url} closed (${why})${detail}`)
        : unavailable(`cannot open a WebSocket to ${url} (${why})${detail}`),
    );
  });

  await inbox.opened;
  return {
    stream: true,
    service: req.service,
    method: req.method,
    header: new Headers(),
    trailer: new Headers(),
    message: { [Symbol.asyncIterator]: () => ({ next: () => inbox.next() }) },
  };
}

/** Sends each request message while the socket is open; a failing input fails the call. */
async function send<I extends DescMessage>(
  input: AsyncIterator<MessageShape<I>>,
  socket: GatewayWebSocket,
  schema: I,
  fail: (error: unknown) => void,
): Promise<void> {
  try {
    for (;;) {
      const next = await input.next();
      if (next.done || socket.readyState !== OPEN) return;
      socket.send(encodeRequest(schema, next.value));
    }
  } catch (e) {
    fail(ConnectError.from(e));
  }
}

/**
 * Messages received and not yet read, and how the stream ended. The first failure wins; it
 * rejects the open wait and every read after the queued messages are taken.
 */
class Inbox<T> {
  readonly opened: Promise<void>;
  private settleOpen: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private readonly queue: T[] = [];
  private failure: { error: unknown } | undefined;
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];

  constructor() {
    this.opened = new Promise((resolve, reject) => {
      this.settleOpen = { resolve, reject };
    });
    // A failure before anyone awaits must not be reported as unhandled.
    this.opened.catch(() => {});
  }

  ready(): void {
    this.settleOpen?.resolve();
    this.settleOpen = undefined;
  }

  push(item: T): void {
    if (this.failure) return;
    const reader = this.waiting.shift();
    if (reader) reader.resolve({ done: false, value: item });
    else this.queue.push(item);
  }

  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.settleOpen?.reject(error);
    this.settleOpen = undefined;
    for (const reader of this.waiting.splice(0)) reader.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.queue.shift();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}
