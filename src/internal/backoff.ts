import { type Clock, systemClock } from "./clock.js";

export interface BackoffOptions {
  /** First delay, in ms. */
  baseMs?: number;
  /** Cap on any one delay, in ms. */
  maxMs?: number;
  /** Growth per attempt. */
  factor?: number;
  /** Share of the delay that is random, 0..1: 0.5 gives delays in [d/2, d]. */
  jitter?: number;
  /** Injectable for tests; returns [0, 1). */
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based): exponential, capped, jittered. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const base = o.baseMs ?? 50;
  const max = o.maxMs ?? 2000;
  const factor = o.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, o.jitter ?? 0.5));
  const random = o.random ?? Math.random;
  const full = Math.min(max, base * factor ** Math.max(0, attempt));
  return Math.round(full * (1 - jitter * random()));
}

/** Waits ms; rejects with the signal's reason if it fires first. Clears its timer on every path. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
