// One HTTP/2 stream of a client session: what it reports to its handler, and the request
// data it holds back for flow control.
import { neverSent, unprocessedCode } from "../../internal/causes.js";
import { ErrorCode, sessionError } from "./h2-errors.node.js";
import type { HeaderField } from "./hpack.node.js";

/** What a stream reports, in order: headers (then trailers), data, and one end. */
export interface StreamHandler {
  onHeaders(fields: HeaderField[], endStream: boolean): void;
  /** A view into the read buffer: copy it to keep it past the call. */
  onData(data: Buffer, endStream: boolean): void;
  /**
   * The stream is over: after END_STREAM (no arguments), reset by the server (rstCode), or
   * failed with the connection (error; its cause chain keeps the socket's code, such as
   * ECONNREFUSED, which tells that nothing was sent).
   */
  onEnd(error?: Error, rstCode?: number): void;
}

/** What a stream asks of its session. */
export interface StreamOwner {
  sendData(s: H2Stream, data: Buffer, end: boolean): void;
  flushStream(s: H2Stream): void;
  reset(s: H2Stream, code: number): void;
}

type Queued = { data: Buffer; end: boolean };

export class H2Stream {
  id = 0;
  /** Bytes this side may still send (the peer's window for this stream). */
  sendWindow = 0;
  /** Bytes received since this side last widened the stream's window. */
  unacked = 0;
  private queued: Queued[] = [];
  ended = false;
  private localEnded = false;

  constructor(
    private readonly owner: StreamOwner | undefined,
    readonly headerBlock: Buffer,
    readonly handler: StreamHandler,
  ) {}

  /** Sends data, after the headers; `end` half-closes. Respects the peer's flow control. */
  write(data: Buffer, end = false): void {
    if (this.ended || this.localEnded || !this.owner) return;
    if (end) this.localEnded = true;
    if (this.id === 0 || this.queued.length > 0) {
      this.queued.push({ data, end });
      if (this.id !== 0) this.owner.flushStream(this);
      return;
    }
    this.owner.sendData(this, data, end);
  }

  end(): void {
    this.write(Buffer.alloc(0), true);
  }

  /** Abandons the stream: RST_STREAM with CANCEL; the handler hears nothing more. */
  cancel(code: number = ErrorCode.CANCEL): void {
    if (this.ended) return;
    this.owner?.reset(this, code);
  }

  /** @internal */
  takeQueued(): Queued[] {
    const q = this.queued;
    this.queued = [];
    return q;
  }

  /** @internal */
  requeue(items: Queued[]): void {
    this.queued = items.concat(this.queued);
  }
}

/**
 * The error for a stream the server never processed (it never started, or the server's GOAWAY
 * or REFUSED_STREAM said so): failover may send its request elsewhere, even a write. An error
 * that already tells so (ECONNREFUSED) is kept as it is.
 */
export function unprocessed(error: Error): Error {
  if (neverSent(error)) return error;
  return sessionError(
    `the server did not process the request: ${error.message}`,
    unprocessedCode,
    error,
  );
}

/** A stream that fails at once (on the next microtask), as a closed session's would. */
export function deadStream(headerBlock: Buffer, handler: StreamHandler, error: Error): H2Stream {
  const s = new H2Stream(undefined, headerBlock, handler);
  s.ended = true;
  queueMicrotask(() => handler.onEnd(error));
  return s;
}
