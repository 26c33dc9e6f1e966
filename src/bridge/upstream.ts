import {
  type ClientHttp2Stream,
  constants,
  type Http2Session,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import type {
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  Message,
  MessageInitShape,
} from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { HealthProbe } from "../endpoints/health-probe.js";
import { EndpointPool, type RetryOptions, withFailover } from "../endpoints/index.js";
import { Maintenance } from "../gen/etcdserverpb/rpc_pb.js";
import type { Deadline } from "../internal/deadline.js";
import { classifyV3 } from "../v3/classify.js";
import { type RawStream, RawUpstreamStream } from "./raw-stream.js";
import { unaryAnswer } from "./raw-unary.js";

export interface UpstreamOptions {
  /** etcd client URLs, already checked by parseEndpoints. */
  endpoints: readonly string[];
  /** TLS options for https:// etcd URLs: ca, and cert and key for client certificates. */
  tls?: SecureClientSessionOptions | undefined;
  retry?: RetryOptions | undefined;
  /** Limit on one attempt at one member before a repeatable call moves on; default 5 s, 0 none. */
  dialTimeoutMs?: number | undefined;
  /** Probe every member's Status every 5 s, as the client does; default true. */
  health?: boolean | undefined;
}

/** One call forwarded to etcd. */
export interface UpstreamCall {
  deadline: Deadline;
  /** etcd's auth token, the only browser header that reaches etcd. */
  token: string | undefined;
  /** Safe to repeat on another member even if the first may have received it. */
  repeatable: boolean;
}

/** An upstream stream whose first response has arrived. close() ends it on every path. */
export interface UpstreamStream {
  readonly endpoint: string;
  readonly first: IteratorResult<Message>;
  readonly rest: AsyncIterator<Message>;
  close(): void;
}

// etcd refuses client pings more often than every 5 s; they go out only while streams are open
// (pings on an idle connection count against the client). A frozen member is noticed in 15 s.
const keepalive = { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 };

// The flow-control windows this side grants etcd, as etcd-web's own client does. With node's
// 64 KiB, a watch under a put storm fills the window whenever the bridge pauses for ~30 ms (a GC,
// another process on the core); etcd's send then blocks and it moves the watcher to its
// catch-up path, ~10,000 events/s until the storm ends.
const streamWindow = 4 << 20;
const connectionWindow = 16 << 20;

/** connect-node's session manager, granting the connection window above on each session. */
class WideSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    options: Parameters<Http2SessionManager["request"]>[3],
  ): Promise<ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      session.setLocalWindowSize(connectionWindow);
    }
    return stream;
  }
}

/**
 * The etcd side of the bridge: one HTTP/2 session per etcd URL, kept for the bridge's life, and
 * failover between the URLs as the client does: the shared EndpointPool and withFailover, the
 * client's classification of errors (classifyV3), its per-attempt limit and its health probe.
 */
export class Upstream {
  readonly pool: EndpointPool;
  private readonly sessions = new Map<
    string,
    { session: WideSessionManager; transport: Transport }
  >();
  private readonly probe: HealthProbe | undefined;
  private streams = 0;
  private readonly byEndpoint = new Map<string, number>();

  constructor(private readonly options: UpstreamOptions) {
    this.pool = new EndpointPool(options.endpoints);
    if (options.health !== false) {
      this.probe = new HealthProbe(this.pool, (url, signal) => this.status(url, signal), {
        intervalMs: 5_000,
        timeoutMs: 2_000,
      });
      this.probe.start();
    }
  }

  get openStreams(): number {
    return this.streams;
  }

  /** Open streams by the etcd URL that serves them. */
  get openStreamsByEndpoint(): Record<string, number> {
    return Object.fromEntries(this.byEndpoint);
  }

  async unary(
    method: DescMethod,
    input: Message,
    call: UpstreamCall,
  ): Promise<{ message: Message; endpoint: string }> {
    return withFailover(this.pool, call.deadline, this.failover(call), async (endpoint, signal) => {
      const res = await this.transport(endpoint).unary(
        method as DescMethodUnary,
        signal,
        call.deadline.remainingMs(),
        headers(call),
        input as MessageInitShape<DescMethodUnary["input"]>,
      );
      return { message: res.message, endpoint };
    });
  }

  /**
   * Opens the stream on the first member that answers, and waits for its first response: until
   * then nothing reached the browser, so another member may still be tried.
   */
  async stream(method: DescMethod, input: Message, call: UpstreamCall): Promise<UpstreamStream> {
    return withFailover(this.pool, call.deadline, this.failover(call), async (endpoint, signal) => {
      // The stream lives as long as the call; the attempt's own limit only until it answers.
      const stream = this.track(call.deadline.signal, endpoint);
      const unlink = onAbort(signal, stream.close);
      try {
        const res = await this.transport(endpoint).stream(
          method as DescMethodStreaming,
          stream.signal,
          call.deadline.remainingMs(),
          headers(call),
          keepsSendOpen(method) ? untilClosed(input, stream.signal) : once(input),
        );
        const rest = res.message[Symbol.asyncIterator]();
        return { endpoint, first: await rest.next(), rest, close: stream.close };
      } catch (e) {
        stream.close();
        throw e;
      } finally {
        unlink();
      }
    });
  }

  /**
   * Opens a stream as stream() does, but keeps etcd's response as bytes (RawStream): for the
   * gRPC-Web pass-through. body is the request as one gRPC-framed message.
   */
  async raw(method: DescMethod, body: Uint8Array, call: UpstreamCall): Promise<RawStream> {
    const path = `/${method.parent.typeName}/${method.name}`;
    return withFailover(this.pool, call.deadline, this.failover(call), async (endpoint, signal) => {
      const tracked = this.track(call.deadline.signal, endpoint);
      const unlink = onAbort(signal, tracked.close);
      try {
        const session = this.session(endpoint);
        const h2 = await session.request("POST", path, grpcHeaders(call), {});
        const stream = new RawUpstreamStream(
          endpoint,
          h2,
          () => session.notifyResponseByteRead(h2),
          tracked.close,
        );
        onAbort(tracked.signal, () => {
          if (!h2.closed) h2.close(constants.NGHTTP2_CANCEL);
        });
        return await stream.started(body, keepsSendOpen(method));
      } catch (e) {
        tracked.close();
        throw e;
      } finally {
        unlink();
      }
    });
  }

  /**
   * A unary call as unary() makes it, with the same failover, but as bytes: body is the request
   * as one gRPC-framed message, and the answer is etcd's one message as etcd framed it (for the
   * gRPC-Web pass-through). Each attempt reads the whole answer, so every failure before it is
   * complete is judged by the failover, as for unary().
   */
  async rawUnary(
    method: DescMethod,
    body: Uint8Array,
    call: UpstreamCall,
  ): Promise<{ message: Buffer; endpoint: string }> {
    const path = `/${method.parent.typeName}/${method.name}`;
    return withFailover(this.pool, call.deadline, this.failover(call), async (endpoint, signal) => {
      const session = this.session(endpoint);
      // A member that never completes the connection must not hold the attempt past its limit.
      const h2 = await untilAbort(session.request("POST", path, grpcHeaders(call), {}), signal);
      const message = await unaryAnswer(
        h2,
        body,
        method.output,
        () => session.notifyResponseByteRead(h2),
        signal,
      );
      return { message, endpoint };
    });
  }

  /** Stops the probe and ends every session; open calls fail. */
  close(): void {
    this.probe?.stop();
    for (const { session } of this.sessions.values()) session.abort();
    this.sessions.clear();
  }

  private transport(url: string): Transport {
    return this.entry(url).transport;
  }

  private session(url: string): WideSessionManager {
    return this.entry(url).session;
  }

  private entry(url: string) {
    let entry = this.sessions.get(url);
    if (!entry) {
      const session = new WideSessionManager(url, keepalive, {
        ...this.options.tls,
        settings: { initialWindowSize: streamWindow },
      });
      entry = {
        session,
        transport: createGrpcTransport({ baseUrl: url, sessionManager: session }),
      };
      this.sessions.set(url, entry);
    }
    return entry;
  }

  /** The client's probe: the member answers Status and knows a leader. */
  private async status(url: string, signal: AbortSignal): Promise<void> {
    const res = await this.transport(url).unary(
      Maintenance.method.status,
      signal,
      undefined,
      undefined,
      {},
    );
    if (res.message.leader === 0n) throw new Error("the member has no leader");
  }

  /** A signal for one upstream stream, counted while open; close() aborts it, once. */
  private track(callSignal: AbortSignal, endpoint: string): { signal: AbortSignal; close(): void } {
    const controller = new AbortController();
    this.streams++;
    this.byEndpoint.set(endpoint, (this.byEndpoint.get(endpoint) ?? 0) + 1);
    let open = true;
    let unlink = () => {};
    const close = () => {
      if (!open) return;
      open = false;
      unlink();
      controller.abort();
      this.streams--;
      const left = (this.byEndpoint.get(endpoint) ?? 1) - 1;
      if (left === 0) this.byEndpoint.delete(endpoint);
      else this.byEndpoint.set(endpoint, left);
    };
    unlink = onAbort(callSignal, close);
    return { signal: controller.signal, close };
  }

  private failover(call: UpstreamCall) {
    return {
      idempotent: call.repeatable,
      classify: classifyV3,
      retry: this.options.retry,
      attemptTimeoutMs: this.options.dialTimeoutMs ?? 5_000,
    };
  }
}

/** Calls fn when signal fires (now, if it has); returns the unsubscribe. */
function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}

/** p, or signal's reason once it fires; a stream p resolves with later is reset. */
function untilAbort(
  p: Promise<ClientHttp2Stream>,
  signal: AbortSignal,
): Promise<ClientHttp2Stream> {
  if (signal.aborted) {
    p.then(
      (s) => s.close(constants.NGHTTP2_CANCEL),
      () => {},
    );
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      p.then(
        (s) => s.close(constants.NGHTTP2_CANCEL),
        () => {},
      );
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (s) => {
        signal.removeEventListener("abort", onAbort);
        resolve(s);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function headers(call: UpstreamCall): Headers {
  const h = new Headers();
  if (call.token !== undefined) h.set("token", call.token);
  return h;
}

/** The raw stream's request headers: gRPC's, the deadline and the token, nothing else. */
function grpcHeaders(call: UpstreamCall): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { "content-type": "application/grpc", te: "trailers" };
  const ms = call.deadline.remainingMs();
  if (ms !== undefined) h["grpc-timeout"] = grpcTimeout(ms);
  if (call.token !== undefined) h.token = call.token;
  return h;
}

/** gRPC's timeout header: at most 8 digits and a unit. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  if (whole / 1000 < 1e8) return `${Math.ceil(whole / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(whole / 3_600_000))}H`;
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}

/** value, then no end of the request until signal fires: the send side stays open. */
async function* untilClosed<T>(value: T, signal: AbortSignal): AsyncIterable<T> {
  yield value;
  await new Promise<void>((resolve) => onAbort(signal, resolve));
}

/**
 * A Watch keeps its send side open while the page watches: etcd serves a half-closed Watch
 * on, but etcd's grpc-proxy cancels it ("context canceled"). LeaseKeepAlive must half-close,
 * so that etcd answers once and ends.
 */
export function keepsSendOpen(method: DescMethod): boolean {
  return method.methodKind === "bidi_streaming" && method.parent.typeName === "etcdserverpb.Watch";
}
