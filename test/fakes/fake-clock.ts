import type { Clock } from "../../src/internal/clock.js";

/** Lets pending promises (and their I/O callbacks) settle. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A clock whose timers run only when a test advances it. advance() lets promises settle
 * between timers, for code that awaits; advanceSync() fires due timers at once.
 */
export class FakeClock implements Clock {
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  /** `t` is the current time in ms; tests may set it directly. */
  constructor(public t = 0) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.seq, { at: this.t + ms, fn });
    return this.seq;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.nextDue(end);
      if (!due) break;
      this.fire(due);
    }
    this.t = end;
    await flush();
  }

  advanceSync(ms: number): void {
    const end = this.t + ms;
    for (let due = this.nextDue(end); due; due = this.nextDue(end)) this.fire(due);
    this.t = end;
  }

  private nextDue(end: number): [number, { at: number; fn: () => void }] | undefined {
    return [...this.timers]
      .filter(([, timer]) => timer.at <= end)
      .sort((x, y) => x[1].at - y[1].at)[0];
  }

  private fire([id, timer]: [number, { at: number; fn: () => void }]): void {
    this.timers.delete(id);
    this.t = timer.at;
    timer.fn();
  }
}
