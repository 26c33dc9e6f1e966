import { request } from "node:http";
import { type ClientHttp2Session, constants } from "node:http2";
import type {
  DescMethod,
  DescMethodServerStreaming,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import {
  type BridgeServer,
  type BridgeServerOptions,
  startBridge,
} from "../../src/bridge/index.js";
import {
  type WatchRequest,
  WatchRequestSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";

/**
 * Starts a test file's bridges on 127.0.0.1, quiet and without health probes, with the file's
 * own defaults; closeAll() closes every one it started.
 */
export function bridgeStarter(
  endpoints: () => readonly string[],
  defaults: Partial<BridgeServerOptions> = {},
) {
  const open: BridgeServer[] = [];
  return {
    async start(options: Partial<BridgeServerOptions> = {}): Promise<BridgeServer> {
      const b = await startBridge({
        listen: "127.0.0.1:0",
        etcd: [...endpoints()],
        health: false,
        log: () => {},
        ...defaults,
        ...options,
      });
      open.push(b);
      return b;
    },
    async closeAll(): Promise<void> {
      for (const b of open.splice(0)) await b.close();
    },
  };
}

/** A fetch that sends the Origin header a page on `origin` would send. */
export function fetchFrom(origin: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("origin", origin);
    return fetch(input, { ...init, headers });
  };
}

/**
 * Calls a bidi etcd method (Watch, LeaseKeepAlive) the way a browser can: as server-streaming
 * with one request, on the same path.
 */
export async function* oneRequestStream<M extends DescMethod>(
  transport: Transport,
  method: M,
  input: MessageInitShape<M["input"]>,
  opts: { signal?: AbortSignal; timeoutMs?: number; headers?: HeadersInit } = {},
): AsyncGenerator<MessageShape<M["output"]>> {
  const served = { ...method, methodKind: "server_streaming" } as DescMethodServerStreaming<
    M["input"],
    M["output"]
  >;
  const res = await transport.stream(
    served,
    opts.signal,
    opts.timeoutMs,
    opts.headers,
    (async function* () {
      yield input;
    })(),
  );
  yield* res.message;
}

/** etcd's gauge of open watch streams, summed over members (a dead member counts 0). */
export async function etcdWatchStreams(urls: readonly string[]): Promise<number> {
  let sum = 0;
  for (const url of urls) {
    const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.text())
      .catch(() => "");
    const m = /^etcd_debugging_mvcc_watch_stream_total (\d+)/m.exec(text);
    sum += Number(m?.[1] ?? 0);
  }
  return sum;
}

/** Polls until check() holds or timeoutMs passes; returns the last value for the assertion. */
export async function eventually<T>(
  read: () => T | Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (check(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/**
 * A Watch over gRPC-Web on node:http, read frame by frame: the bridge's bytes, without a
 * client library between. close() drops the connection, as a page that leaves.
 */
export function grpcWebWatch(
  url: string,
  ...reqs: WatchRequest[]
): { responses: AsyncGenerator<WatchResponse>; close(): void } {
  const r = request(`${url}/etcdserverpb.Watch/Watch`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
  });
  r.on("error", () => {});
  r.end(framedWatch(...reqs));
  async function* responses(): AsyncGenerator<WatchResponse> {
    const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      r.once("response", resolve);
      r.once("error", reject);
    });
    yield* grpcWebFrames(res);
  }
  return { responses: responses(), close: () => r.destroy() };
}

/** A WatchRequest framed as gRPC and gRPC-Web frame it: a flag byte, a 4-byte length, the bytes. */
export function framedWatch(...reqs: WatchRequest[]): Buffer {
  return Buffer.concat(
    reqs.map((req) => {
      const msg = toBinary(WatchRequestSchema, req);
      const out = Buffer.alloc(5 + msg.length);
      out.writeUInt32BE(msg.length, 1);
      out.set(msg, 5);
      return out;
    }),
  );
}

/** Splits gRPC-Web frames off buf; a 0x80 frame ends the call with its status text. */
export async function* grpcWebFrames(
  body: AsyncIterable<Buffer | string>,
): AsyncGenerator<WatchResponse> {
  let buf = Buffer.alloc(0);
  for await (const chunk of body) {
    buf = Buffer.concat([buf, typeof chunk === "string" ? Buffer.from(chunk) : chunk]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1);
      const flags = buf[0];
      const data = buf.subarray(5, 5 + n);
      buf = buf.subarray(5 + n);
      if (flags === 0x80) throw new Error(`the watch ended: ${data.toString()}`);
      yield fromBinary(WatchResponseSchema, data);
    }
  }
}

/**
 * A Watch over gRPC-Web on one HTTP/2 stream (h2c, or TLS with ALPN h2 when ca is given),
 * read frame by frame. cancel() resets the stream (RST_STREAM CANCEL), as a browser does
 * when a page aborts a fetch over HTTP/2; the session stays open.
 */
export function h2GrpcWebWatch(
  session: ClientHttp2Session,
  body: Buffer,
  path = "/etcdserverpb.Watch/Watch",
): { responses: AsyncGenerator<WatchResponse>; cancel(): void } {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
  });
  stream.on("error", () => {});
  stream.end(body);
  return {
    responses: grpcWebFrames(stream),
    cancel: () => stream.close(constants.NGHTTP2_CANCEL),
  };
}

/**
 * iterator.next(), or a failure after ms that says what was awaited and what the bridge held
 * then (its stats): a stream read in a test never waits without a bound.
 */
export async function nextWithin<T>(
  iterator: AsyncIterator<T>,
  ms: number,
  what: string,
  stats: () => unknown,
): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`${what}: nothing within ${ms} ms; bridge ${JSON.stringify(stats())}`),
            ),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
