import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
} from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

// A gRPC stream to etcd read as bytes: its messages stay as etcd framed them (a 5-byte prefix,
// then the protobuf bytes), which is also gRPC-Web's framing, so they reach the browser without
// a decode and an encode per message.

/** Where the bytes of a started stream go. */
export interface RawSink {
  /** etcd's bytes: whole or partial gRPC messages, in order. */
  data(chunk: Buffer): void;
  /** Once: etcd's trailers (its status), or the error that ended the stream first. */
  end(trailers: Headers | undefined, error: unknown): void;
}

/** An upstream stream whose first bytes arrived. close() ends it on every path. */
export interface RawStream {
  readonly endpoint: string;
  /** The first bytes (empty if etcd ended the stream without a message). */
  readonly first: Buffer;
  /** Delivers the rest; the stream waits for it. */
  pipe(sink: RawSink): void;
  /** Flow control: etcd's window stops opening while paused. */
  pause(): void;
  resume(): void;
  close(): void;
}

/**
 * Wraps a node:http2 stream to etcd: started() resolves with the first bytes, or rejects with a
 * ConnectError that the failover classification reads (etcd's status, a reset, or the
 * connection's error with its cause chain).
 */
export class RawUpstreamStream implements RawStream {
  first: Buffer = Buffer.alloc(0);
  private trailers: Headers | undefined;
  private error: unknown;
  private sink: RawSink | undefined;
  private ended = false;

  constructor(
    readonly endpoint: string,
    private readonly stream: ClientHttp2Stream,
    private readonly onRead: () => void,
    readonly close: () => void,
  ) {}

  /**
   * Sends the request (gRPC-framed messages) and waits for an answer. With keepOpen the send
   * side stays open until the stream ends (a Watch: etcd's grpc-proxy cancels a watch whose
   * client half-closed); otherwise it is closed after the body.
   */
  started(body: Uint8Array, keepOpen = false): Promise<RawUpstreamStream> {
    const s = this.stream;
    return new Promise((resolve, reject) => {
      let waiting = true;
      s.on("response", (headers) => {
        const bad = badResponse(headers);
        if (bad) {
          this.error = bad;
          s.close(constants.NGHTTP2_CANCEL);
        } else if (headers["grpc-status"] !== undefined) {
          // Trailers-only: etcd answered with a status and no message.
          this.trailers = toHeaders(headers);
        }
      });
      s.on("trailers", (headers) => {
        this.trailers = toHeaders(headers);
      });
      s.on("error", (e) => {
        this.error ??= e;
      });
      s.on("data", (chunk: Buffer) => {
        this.onRead();
        if (waiting) {
          waiting = false;
          this.first = chunk;
          s.pause();
          resolve(this);
        } else {
          this.sink?.data(chunk);
        }
      });
      s.on("close", () => {
        this.ended = true;
        this.close();
        const error = this.endError();
        if (waiting) {
          waiting = false;
          const status = this.trailers && findTrailerError(this.trailers);
          if (error || status) reject(status ?? error);
          else resolve(this);
        } else {
          this.sink?.end(this.trailers, error);
        }
      });
      if (keepOpen) {
        s.write(body);
        // etcd ended its side: end ours, so the stream closes.
        s.once("end", () => {
          if (!s.writableEnded && !s.destroyed) s.end();
        });
      } else {
        s.end(body);
      }
    });
  }

  pipe(sink: RawSink): void {
    this.sink = sink;
    if (this.ended) sink.end(this.trailers, this.endError());
    else this.stream.resume();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Why the stream ended without etcd's status, if it did. */
  private endError(): ConnectError | undefined {
    if (this.error !== undefined) {
      return this.error instanceof ConnectError
        ? this.error
        : ConnectError.from(this.error, Code.Unavailable);
    }
    if (this.trailers?.has("grpc-status")) return undefined;
    const rst = this.stream.rstCode;
    if (rst !== undefined && rst !== constants.NGHTTP2_NO_ERROR) {
      // REFUSED_STREAM: etcd did not process it (RFC 9113 section 8.7).
      const code = rst === constants.NGHTTP2_REFUSED_STREAM ? Code.Unavailable : Code.Internal;
      return new ConnectError(`the stream to etcd was reset (HTTP/2 code ${rst})`, code);
    }
    return new ConnectError("protocol error: missing status", Code.Internal);
  }
}

/** A response that is not etcd's gRPC: another server on the port, a proxy's error page. */
function badResponse(
  headers: IncomingHttpHeaders & IncomingHttpStatusHeader,
): ConnectError | undefined {
  const status = headers[":status"];
  if (status !== 200) {
    return new ConnectError(`etcd answered HTTP ${status}`, Code.Unavailable);
  }
  const type = headers["content-type"] ?? "";
  if (!/^application\/grpc(?:\+proto)?(?:;|$)/i.test(type)) {
    return new ConnectError(`etcd answered content-type ${type}`, Code.Internal);
  }
  return undefined;
}

/** node:http2's headers as a Headers object, without the pseudo-headers. */
export function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
  }
  return out;
}
