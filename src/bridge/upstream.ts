import type { SecureClientSessionOptions } from "node:http2";
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

/**
 * The etcd side of the bridge: one HTTP/2 session per etcd URL, kept for the bridge's life, and
 * failover between the URLs as the client does: the shared EndpointPool and withFailover, the
 * client's classification of errors (classifyV3), its per-attempt limit and its health probe.
 */
export class Upstream {
  readonly pool: EndpointPool;
  private readonly sessions = new Map<
    string,
    { session: Http2SessionManager; transport: Transport }
  >();
  private readonly probe: HealthProbe | undefined;
  private streams = 0;

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
      const stream = this.track(call.deadline.signal);
      const unlink = onAbort(signal, stream.close);
      try {
        const res = await this.transport(endpoint).stream(
          method as DescMethodStreaming,
          stream.signal,
          call.deadline.remainingMs(),
          headers(call),
          once(input),
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

  /** Stops the probe and ends every session; open calls fail. */
  close(): void {
    this.probe?.stop();
    for (const { session } of this.sessions.values()) session.abort();
    this.sessions.clear();
  }

  private transport(url: string): Transport {
    let entry = this.sessions.get(url);
    if (!entry) {
      const session = new Http2SessionManager(url, keepalive, this.options.tls);
      entry = {
        session,
        transport: createGrpcTransport({ baseUrl: url, sessionManager: session }),
      };
      this.sessions.set(url, entry);
    }
    return entry.transport;
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
  private track(callSignal: AbortSignal): { signal: AbortSignal; close(): void } {
    const controller = new AbortController();
    this.streams++;
    let open = true;
    let unlink = () => {};
    const close = () => {
      if (!open) return;
      open = false;
      unlink();
      controller.abort();
      this.streams--;
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

function headers(call: UpstreamCall): Headers {
  const h = new Headers();
  if (call.token !== undefined) h.set("token", call.token);
  return h;
}

async function* once<T>(value: T): AsyncIterable<T> {
  yield value;
}
