import { ContextError } from "../errors/etcd-error.js";
import { type Clock, systemClock } from "./clock.js";

/**
 * One call's cancellation: the caller's signal and its time limit linked into one signal.
 * dispose() must run when the call ends; it clears the timer and the listener on every path.
 */
export class Deadline {
  readonly signal: AbortSignal;
  /** When the time limit passes (clock ms), or undefined without one. */
  readonly expiresAt: number | undefined;
  private readonly controller = new AbortController();
  private timer: unknown;
  private why: ContextError | undefined;
  private readonly onParentAbort = () =>
    this.abort(new ContextError("canceled", { cause: this.parent?.reason }));

  constructor(
    private readonly parent: AbortSignal | undefined,
    timeoutMs: number | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    this.signal = this.controller.signal;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new RangeError(`timeoutMs must be a finite number >= 0, got ${timeoutMs}`);
    }
    this.expiresAt = timeoutMs ? clock.now() + timeoutMs : undefined;
    if (parent?.aborted) {
      this.onParentAbort();
      return;
    }
    parent?.addEventListener("abort", this.onParentAbort, { once: true });
    if (timeoutMs) {
      this.timer = clock.setTimeout(
        () =>
          this.abort(
            new ContextError("deadline-exceeded", {
              message: `the call's deadline of ${timeoutMs} ms passed`,
            }),
          ),
        timeoutMs,
      );
    }
  }

  /** The ContextError once the signal fired, else undefined. */
  get error(): ContextError | undefined {
    return this.why;
  }

  /** Milliseconds left, or undefined without a limit. */
  remainingMs(): number | undefined {
    return this.expiresAt === undefined
      ? undefined
      : Math.max(0, this.expiresAt - this.clock.now());
  }

  /** Throws the ContextError if the signal fired. */
  throwIfDone(): void {
    if (this.why) throw this.why;
  }

  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.parent?.removeEventListener("abort", this.onParentAbort);
  }

  private abort(err: ContextError): void {
    if (this.why) return;
    this.why = err;
    this.dispose();
    this.controller.abort(err);
  }
}

/** Runs fn under a Deadline and always disposes it. */
export async function withDeadline<T>(
  opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  fn: (deadline: Deadline) => Promise<T>,
  clock?: Clock,
): Promise<T> {
  const deadline = new Deadline(opts.signal, opts.timeoutMs, clock);
  try {
    deadline.throwIfDone();
    return await fn(deadline);
  } catch (e) {
    throw deadline.error ?? e;
  } finally {
    deadline.dispose();
  }
}
