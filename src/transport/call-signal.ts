import { Code, ConnectError } from "@connectrpc/connect";
import {
  createDeadlineSignal,
  createLinkedAbortController,
  getAbortSignalReason,
} from "@connectrpc/connect/protocol";

/**
 * One call's signal: the caller's signal and the call's timeout linked, with connect's own
 * helpers. Once it fired the call fails with Canceled (DeadlineExceeded at the timeout); other
 * errors pass through unchanged, so a ResponseError stays one (connect's runUnaryCall would
 * turn it into a ConnectError). end() must run when the call is over, on every path.
 */
export class CallSignal {
  readonly signal: AbortSignal;
  private readonly controller: AbortController;
  private readonly clearTimer: () => void;
  private ended = false;

  constructor(parent: AbortSignal | undefined, timeoutMs: number | undefined) {
    const deadline = createDeadlineSignal(timeoutMs);
    this.clearTimer = deadline.cleanup;
    this.controller = createLinkedAbortController(parent, deadline.signal);
    this.signal = this.controller.signal;
  }

  /** What the call throws for e: the abort's ConnectError once the signal fired, else e. */
  error(e: unknown): unknown {
    if (this.ended || !this.signal.aborted) return e;
    return ConnectError.from(getAbortSignalReason(this.signal), Code.Canceled);
  }

  /** Clears the timer, and aborts the signal so that no part of the call keeps running. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer();
    this.controller.abort();
  }

  /** Starts a call under this signal: not at all once it fired; a failure ends the call. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      this.signal.throwIfAborted();
      return await call();
    } catch (e) {
      const error = this.error(e);
      this.end();
      throw error;
    }
  }

  /**
   * A stream's messages under this signal: a read after the signal fired fails at once, and the
   * call ends with the stream's end or first error.
   */
  stream<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
    let it: AsyncIterator<T> | undefined;
    let over: { error: unknown } | undefined;
    const next = async (): Promise<IteratorResult<T>> => {
      if (over) throw over.error;
      if (this.ended) return { done: true, value: undefined };
      try {
        if (this.signal.aborted) throw getAbortSignalReason(this.signal);
        it ??= messages[Symbol.asyncIterator]();
        const result = await it.next();
        if (result.done) this.end();
        return result;
      } catch (e) {
        over = { error: this.error(e) };
        this.end();
        throw over.error;
      }
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }
}
