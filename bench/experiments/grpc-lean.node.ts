// A smaller alternative to etcd-web's own HTTP/2 client (src/transport/grpc/), still on
// node:http2, measured by bench/experiments/compare.ts as "etcd-web+lean".
//
// gRPC over node:http2 without connect's generic call pipeline. Per unary call connect-node
// builds async-iterable pipes, a sentinel, a linked AbortController and, even on success, a
// ConnectError and a DOMException (an AbortController aborted to clean up); each costs
// microseconds that a call at 10,000/s cannot spare. Here a call is one HTTP/2 stream: one
// frame out, frames and trailers in, parsed in the stream's own "data" handler.
//
// What stays the same: Http2SessionManager (one session per endpoint, pings, idle close,
// reconnect), and connect's error shapes: a ConnectError with the status etcd sent
// (findTrailerError), node's error as the cause (so classifyV3 and neverSent see the same).
//
// HTTP/2 settings: a 4 MiB stream window and a 16 MiB connection window (node's default is
// 64 KiB each), so that etcd can hand a burst of watch events to a watcher that is busy for a
// moment, instead of blocking its send loop; a blocked watcher falls to etcd's catch-up path,
// which delivers at most 1,000 revisions per 100 ms.
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants as h2,
  type IncomingHttpHeaders,
} from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  fromBinary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { codeFromHttpStatus, findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { Http2SessionManager } from "@connectrpc/connect-node";
import type { TransportFactory } from "../../src/transport/protocol.js";

const streamWindow = 4 << 20;
const connectionWindow = 16 << 20;

/** The proposed grpcTransport. */
export const grpcLeanTransport: TransportFactory = ({ baseUrl }) => {
  const sm = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 30_000, pingTimeoutMs: 10_000, idleConnectionTimeoutMs: 5 * 60_000 },
    { settings: { initialWindowSize: streamWindow } },
  );
  const prefix = new URL(baseUrl).pathname.replace(/\/$/, "");
  const transport: Transport = {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const call = await open(sm, prefix, method, signal, timeoutMs, header);
      call.stream.end(encode(method.input, input));
      const { message, header: h, trailer } = await call.unary();
      return { stream: false, service: method.parent, method, header: h, message, trailer };
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      const call = await open(sm, prefix, method, signal, timeoutMs, header);
      call.send(input, (m) => encode(method.input, m));
      const h = await call.headers();
      return {
        stream: true,
        service: method.parent,
        method,
        header: h,
        trailer: call.trailer,
        message: call.messages(),
      };
    },
  };
  return { transport, close: () => sm.abort() };
};

function encode<D extends DescMessage>(schema: D, input: MessageInitShape<D>): Buffer {
  const bytes = toBinary(schema, isMessage(input, schema) ? input : create(schema, input));
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

const widened = new WeakSet<ClientHttp2Session>();

async function open<O extends DescMessage>(
  sm: Http2SessionManager,
  prefix: string,
  method: DescMethod & { output: O },
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): Promise<Call<O>> {
  if (signal?.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
  const headers: Record<string, string> = {
    "content-type": "application/grpc+proto",
    te: "trailers",
  };
  const timeout = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
  if (timeout !== undefined) headers["grpc-timeout"] = `${Math.ceil(timeout)}m`;
  if (header !== undefined) {
    new Headers(header).forEach((v, k) => {
      headers[k] = v;
    });
  }
  let stream: ClientHttp2Stream;
  try {
    stream = await sm.request(
      "POST",
      `${prefix}/${method.parent.typeName}/${method.name}`,
      headers,
      {},
    );
  } catch (e) {
    throw fromNode(e);
  }
  const session = stream.session as ClientHttp2Session | undefined;
  if (session && !widened.has(session)) {
    widened.add(session);
    session.setLocalWindowSize(connectionWindow);
  }
  return new Call(sm, stream, method.output, signal, timeout);
}

/** One gRPC call on one HTTP/2 stream: the response's headers, messages and trailers. */
class Call<O extends DescMessage> {
  readonly trailer = new Headers();
  private header: Headers | undefined;
  private nodeHeaders: IncomingHttpHeaders | undefined;
  private error: ConnectError | undefined;
  private ended = false;
  private pending: Buffer | undefined;
  private queue: MessageShape<O>[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () => this.fail(ConnectError.from(this.signal?.reason, Code.Canceled));

  constructor(
    private readonly sm: Http2SessionManager,
    readonly stream: ClientHttp2Stream,
    private readonly output: O,
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ) {
    signal?.addEventListener("abort", this.onAbort, { once: true });
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(
        () => this.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        timeoutMs,
      );
    }
    stream.on("response", (h) => {
      this.nodeHeaders = h;
      this.header = webHeaders(h);
      this.notify();
    });
    stream.on("trailers", (t) => {
      webHeaders(t).forEach((v, k) => {
        this.trailer.set(k, v);
      });
    });
    stream.on("data", (chunk: Buffer) => this.data(chunk));
    stream.on("error", (e) => this.fail(fromNode(e)));
    stream.on("close", () => this.close());
  }

  /** Writes each input message as it comes, then half-closes. */
  send<T>(input: AsyncIterable<T>, encode: (m: T) => Buffer): void {
    const it = input[Symbol.asyncIterator]();
    const pump = async () => {
      try {
        for (;;) {
          const r = await it.next();
          if (this.error || this.ended) break;
          if (r.done) {
            if (!this.stream.closed) this.stream.end();
            return;
          }
          this.stream.write(encode(r.value));
        }
      } catch (e) {
        this.fail(ConnectError.from(e));
      }
      await it.return?.().catch(() => {});
    };
    void pump();
  }

  /** Resolves with the response headers, or rejects with the call's error. */
  async headers(): Promise<Headers> {
    while (!this.header && !this.error && !this.ended) await this.wait();
    if (this.error) throw this.error;
    this.check();
    return this.header as Headers;
  }

  /** The one message of a unary call, after the trailers. */
  async unary(): Promise<{ message: MessageShape<O>; header: Headers; trailer: Headers }> {
    while (!this.ended && !this.error) await this.wait();
    if (this.error) throw this.error;
    this.check();
    this.checkTrailer();
    const message = this.take();
    if (message === undefined || this.head < this.queue.length) {
      throw new ConnectError(
        `protocol error: ${message === undefined ? "missing" : "more than one"} output message for unary method`,
        Code.Unimplemented,
      );
    }
    return { message, header: this.header as Headers, trailer: this.trailer };
  }

  /** The messages of a streaming call, then its status. */
  async *messages(): AsyncGenerator<MessageShape<O>> {
    try {
      for (;;) {
        const m = this.take();
        if (m !== undefined) {
          yield m;
          continue;
        }
        if (this.error) throw this.error;
        if (this.ended) break;
        await this.wait();
      }
      this.checkTrailer();
    } finally {
      // The consumer left early: the stream closes.
      if (!this.ended) this.fail(new ConnectError("the consumer left the stream", Code.Canceled));
    }
  }

  private take(): MessageShape<O> | undefined {
    if (this.head >= this.queue.length) return undefined;
    const m = this.queue[this.head++];
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return m;
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private data(chunk: Buffer): void {
    this.sm.notifyResponseByteRead(this.stream);
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 5) {
      const length = buf.readUInt32BE(off + 1);
      if (buf.length - off < 5 + length) break;
      if (buf[off] !== 0) {
        this.fail(new ConnectError("protocol error: compressed message", Code.Internal));
        return;
      }
      try {
        // A plain Uint8Array view: bytes fields are views of it, and Buffer must not leak.
        const bytes = new Uint8Array(buf.buffer, buf.byteOffset + off + 5, length);
        this.queue.push(fromBinary(this.output, bytes));
      } catch (e) {
        this.fail(new ConnectError(`cannot decode the response: ${String(e)}`, Code.Internal));
        return;
      }
      off += 5 + length;
    }
    buf = buf.subarray(off);
    this.pending = buf.length > 0 ? buf : undefined;
    this.notify();
  }

  /** The response headers: HTTP status, content type, and a status sent in them. */
  private check(): void {
    const h = this.nodeHeaders;
    if (!h || !this.header) {
      throw (
        resetError(this.stream.rstCode) ??
        new ConnectError("protocol error: the stream closed before a response", Code.Unavailable)
      );
    }
    const status = Number(h[":status"] ?? 0);
    if (status !== 200) {
      throw new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), this.header);
    }
    const contentType = String(h["content-type"] ?? "");
    if (!contentType.startsWith("application/grpc")) {
      throw new ConnectError(`unsupported content type ${contentType}`, Code.Unknown);
    }
    const inHeader = findTrailerError(this.header);
    if (inHeader) throw inHeader;
  }

  private checkTrailer(): void {
    if (this.header?.has("grpc-status")) return; // trailers-only, checked with the headers
    const e = findTrailerError(this.trailer);
    if (e) {
      this.header?.forEach((v, k) => {
        e.metadata.append(k, v);
      });
      throw e;
    }
    if (this.pending) {
      throw new ConnectError("protocol error: incomplete message", Code.Internal);
    }
    if (!this.trailer.has("grpc-status")) {
      throw (
        resetError(this.stream.rstCode) ??
        new ConnectError("protocol error: missing status", Code.Internal)
      );
    }
  }

  private close(): void {
    this.ended = true;
    this.cleanup();
    this.notify();
  }

  /** Ends the call with an error (the first one counts); the stream is reset with CANCEL. */
  private fail(error: ConnectError): void {
    if (!this.error && !this.ended) this.error = error;
    this.cleanup();
    if (!this.stream.closed) this.stream.close(h2.NGHTTP2_CANCEL);
    this.notify();
  }

  private cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}

function webHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const k in h) {
    if (k.startsWith(":")) continue;
    const v = h[k];
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.set(k, v);
  }
  return out;
}

// As connect-node maps them, so that failover sees the same codes and causes.
function fromNode(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  const codes = new Set<string>();
  for (let c = e; c instanceof Error && codes.size < 8; c = c.cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string") codes.add(code);
    if (!("cause" in c)) break;
  }
  let code = Code.Internal;
  if (
    codes.has("ERR_STREAM_DESTROYED") ||
    codes.has("ERR_HTTP2_INVALID_STREAM") ||
    codes.has("ECONNRESET")
  ) {
    code = Code.Aborted;
  } else if (["ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"].some((c) => codes.has(c))) {
    code = Code.Unavailable;
  }
  const ce = ConnectError.from(e, code);
  if (ce !== e) ce.cause = e;
  return ce;
}

function resetError(rstCode: number | undefined): ConnectError | undefined {
  const say = (code: Code) =>
    new ConnectError(`http/2 stream closed with error code ${rstCode}`, code);
  switch (rstCode) {
    case undefined:
    case h2.NGHTTP2_NO_ERROR:
    case h2.NGHTTP2_STREAM_CLOSED:
      return undefined;
    case h2.NGHTTP2_REFUSED_STREAM:
      return say(Code.Unavailable);
    case h2.NGHTTP2_CANCEL:
      return say(Code.Canceled);
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return say(Code.ResourceExhausted);
    default:
      return say(Code.Internal);
  }
}
