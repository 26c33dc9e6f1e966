import type { Clock } from "../internal/clock.js";

/**
 * One attempt's signal: the call's, plus a limit that holds only until the response headers
 * arrive (Go's HeaderTimeoutPerRequest). Clears its timer and listener on every path.
 */
export class HeaderTimer {
  readonly signal: AbortSignal;
  expired = false;
  private readonly controller = new AbortController();
  private timer: unknown;
  private readonly onAbort = () => this.controller.abort(this.parent.reason);

  constructor(
    private readonly parent: AbortSignal,
    ms: number,
    private readonly clock: Clock,
  ) {
    this.signal = this.controller.signal;
    if (parent.aborted) {
      this.onAbort();
      return;
    }
    parent.addEventListener("abort", this.onAbort, { once: true });
    if (ms > 0) {
      this.timer = clock.setTimeout(() => {
        this.timer = undefined;
        this.expired = true;
        this.controller.abort(new Error("response headers timed out"));
      }, ms);
    }
  }

  headersArrived(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.headersArrived();
    this.parent.removeEventListener("abort", this.onAbort);
  }
}
