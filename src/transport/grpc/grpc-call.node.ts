// One gRPC call on one HTTP/2 stream: the request's messages out, the response's headers,
// messages and trailers in, and the errors in connect's shapes (a ConnectError with the status
// etcd sent; node's socket error as the cause, so that failover sees ECONNREFUSED as before).
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { hasCauseCode, unprocessedCode } from "../../internal/causes.js";
import type { MessageCodec } from "../../wire/message-codec.js";
import {
  defaultMaxResponseBytes,
  MessageError,
  MessageReader,
} from "./grpc-message-reader.node.js";
import { ErrorCode, sessionError } from "./h2-errors.node.js";
import type { H2Stream, StreamHandler } from "./h2-stream.node.js";
import type { HeaderField } from "./hpack.node.js";

/** One gRPC call on one HTTP/2 stream. */
export class GrpcCall<O extends DescMessage> implements StreamHandler {
  stream: H2Stream | undefined;
  private headerFields: HeaderField[] | undefined;
  private trailerFields: HeaderField[] | undefined;
  private error: ConnectError | undefined;
  private ended = false;
  private readonly reader: MessageReader;
  private queue: MessageShape<O>[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () => this.fail(ConnectError.from(this.signal?.reason, Code.Canceled));

  constructor(
    private readonly output: MessageCodec<O>,
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    maxResponseBytes: number = defaultMaxResponseBytes,
  ) {
    this.reader = new MessageReader(maxResponseBytes);
    signal?.addEventListener("abort", this.onAbort, { once: true });
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(
        () => this.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        timeoutMs,
      );
    }
  }

  // ---- StreamHandler ----

  onHeaders(fields: HeaderField[], endStream: boolean): void {
    if (this.headerFields === undefined) {
      this.headerFields = fields;
      // A trailers-only response: the status is in the headers.
      if (endStream) this.trailerFields = fields;
    } else {
      this.trailerFields = fields;
    }
    this.notify();
  }

  onData(chunk: Buffer, _endStream: boolean): void {
    if (this.ended) return;
    try {
      this.reader.push(chunk, this.onMessage);
    } catch (e) {
      this.fail(readError(e));
      return;
    }
    this.notify();
  }

  private readonly onMessage = (bytes: Uint8Array): void => {
    this.queue.push(this.output.decode(bytes));
  };

  onEnd(error?: Error, rstCode?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.cleanup();
    if (error) this.error ??= fromSocket(error);
    else if (rstCode !== undefined && this.trailerFields === undefined) {
      this.error ??= resetError(rstCode);
    }
    this.notify();
  }

  // ---- the call ----

  header(): Headers {
    return webHeaders(this.headerFields ?? []);
  }

  trailer(): Headers {
    return webHeaders(this.trailerFields ?? []);
  }

  /** Writes each input message as it comes, then half-closes. */
  send<T>(input: AsyncIterable<T>, encodeOne: (m: T) => Buffer): void {
    const it = input[Symbol.asyncIterator]();
    void (async () => {
      try {
        for (;;) {
          const r = await it.next();
          if (this.error || this.ended) break;
          if (r.done) {
            this.stream?.end();
            return;
          }
          this.stream?.write(encodeOne(r.value));
        }
      } catch (e) {
        this.fail(ConnectError.from(e));
      }
      await it.return?.().catch(() => {});
    })();
  }

  /** Resolves once the response headers arrived, and checks them. */
  async responded(): Promise<void> {
    while (this.headerFields === undefined && !this.error && !this.ended) await this.wait();
    if (this.error) throw this.error;
    this.checkHeaders();
  }

  /** The one message of a unary call, once the call ended well. */
  async unary(): Promise<MessageShape<O>> {
    while (!this.ended && !this.error) await this.wait();
    if (this.error) throw this.error;
    this.checkHeaders();
    this.checkTrailers();
    const message = this.take();
    if (message === undefined || this.head < this.queue.length) {
      throw new ConnectError(
        `protocol error: ${message === undefined ? "missing" : "more than one"} output message for unary method`,
        Code.Unimplemented,
      );
    }
    return message;
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
      this.checkTrailers();
    } finally {
      // The consumer left early: the stream is reset.
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

  private checkHeaders(): void {
    const fields = this.headerFields;
    if (!fields) {
      throw new ConnectError(
        "protocol error: the stream ended before a response",
        Code.Unavailable,
      );
    }
    const status = field(fields, ":status");
    if (status !== "200") {
      throw new ConnectError(`HTTP ${status}`, codeFromHttpStatus(Number(status)), this.header());
    }
    const contentType = field(fields, "content-type") ?? "";
    if (!contentType.startsWith("application/grpc")) {
      throw new ConnectError(`unsupported content type ${contentType}`, Code.Unknown);
    }
    if (fields === this.trailerFields || field(fields, "grpc-status") !== undefined) {
      const e = findTrailerError(this.header());
      if (e) throw e;
    }
  }

  private checkTrailers(): void {
    const fields = this.trailerFields;
    const status = fields && field(fields, "grpc-status");
    if (status === "0" && !this.reader.partial) return;
    if (status !== undefined) {
      const e = findTrailerError(this.trailer());
      if (e) {
        this.header().forEach((v, k) => {
          e.metadata.append(k, v);
        });
        throw e;
      }
    }
    if (this.reader.partial) {
      throw new ConnectError("protocol error: incomplete message", Code.Internal);
    }
    throw new ConnectError("protocol error: missing status", Code.Internal);
  }

  /** Ends the call with an error (the first one counts); the stream is reset with CANCEL. */
  private fail(error: ConnectError): void {
    if (!this.error && !this.ended) this.error = error;
    this.ended = true;
    this.cleanup();
    this.stream?.cancel(ErrorCode.CANCEL);
    this.notify();
  }

  private cleanup(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}

function field(fields: HeaderField[], name: string): string | undefined {
  for (const f of fields) if (f[0] === name) return f[1];
  return undefined;
}

function webHeaders(fields: HeaderField[]): Headers {
  const h = new Headers();
  for (const [k, v] of fields) if (!k.startsWith(":")) h.append(k, v);
  return h;
}

/** As connect-node maps node's errors, so that failover sees the same codes and causes. */
function fromSocket(e: Error): ConnectError {
  const code = hasCauseCode(e, "ECONNRESET") ? Code.Aborted : Code.Unavailable;
  return new ConnectError(e.message, code, undefined, undefined, e);
}

function resetError(rstCode: number): ConnectError {
  const say = (code: Code) =>
    new ConnectError(`http/2 stream closed with error code ${rstCode}`, code);
  switch (rstCode) {
    case ErrorCode.NO_ERROR:
      return say(Code.Internal);
    case ErrorCode.REFUSED_STREAM:
      // The server did not process the stream (RFC 9113 section 8.7): safe to send elsewhere.
      return new ConnectError(
        `http/2 stream refused (code ${rstCode})`,
        Code.Unavailable,
        undefined,
        undefined,
        sessionError("the server refused the stream", unprocessedCode),
      );
    case ErrorCode.CANCEL:
      return say(Code.Canceled);
    case ErrorCode.ENHANCE_YOUR_CALM:
      return say(Code.ResourceExhausted);
    default:
      return say(Code.Internal);
  }
}

/** A message the reader refused, or one that does not decode. */
function readError(e: unknown): ConnectError {
  if (e instanceof MessageError) {
    // As grpc-go: a message above the limit is ResourceExhausted, and the call alone fails.
    return e.reason === "too-large"
      ? new ConnectError(e.message, Code.ResourceExhausted)
      : new ConnectError(`protocol error: ${e.message}`, Code.Internal);
  }
  return new ConnectError(`cannot decode the response: ${String(e)}`, Code.Internal);
}
