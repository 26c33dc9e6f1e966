import { ContextError } from "../errors/etcd-error.js";
import { type Clock, systemClock } from "./clock.js";

/**
 * One call's cancellation: the caller's signal and its time limit linked into one signal.
 * dispose() must run when the call ends; it clears the timer and the listener on every path.
 *
 * The AbortSignal is made only when read: making one costs microseconds (an EventTarget), and
 * most calls end without anyone needing it; onDone() is the cheap way to hear that it fired.
 */
export class Deadline {
  /** When the time limit passes (clock ms), or undefined without one. */
  readonly expiresAt: number | undefined;
  private controller: AbortController | undefined;
  private timer: unknown;
  private why: ContextError | undefined;
  private watchers: Array<(e: ContextError) => void> | undefined;
  private readonly onParentAbort = () =>
    this.abort(new ContextError("canceled", { cause: this.parent?.reason }));

  constructor(
    private readonly parent: AbortSignal | undefined,
    timeoutMs: number | undefined,
    private readonly clock: Clock = systemClock,
  ) {
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

  /** Fires with the ContextError when the caller's signal fires or the time limit passes. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.why) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /** The ContextError once the signal fired, else undefined. */
  get error(): ContextError | undefined {
    return this.why;
  }

  /** Calls fn once when the deadline fires (at once if it has); returns the unsubscribe. */
  onDone(fn: (e: ContextError) => void): () => void {
    if (this.why) {
      fn(this.why);
      return () => {};
    }
    this.watchers ??= [];
    this.watchers.push(fn);
    return () => {
      const i = this.watchers?.indexOf(fn) ?? -1;
      if (i >= 0) this.watchers?.splice(i, 1);
    };
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

  /** Ends the call now as canceled, e.g. when its client closes; cause says why. */
  cancel(cause: unknown): void {
    this.abort(new ContextError("canceled", { cause }));
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
    this.controller?.abort(err);
    const watchers = this.watchers;
    this.watchers = undefined;
    for (const fn of watchers ?? []) fn(err);
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
