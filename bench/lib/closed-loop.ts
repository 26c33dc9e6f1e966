import { type Rate, Samples } from "./stats.js";

export interface LoopOptions {
  /** Calls in flight: this many workers, each starting its next call when the last ends. */
  inFlight: number;
  /** Measured time, after warm-up. */
  durationMs: number;
  warmupMs: number;
  /** Upper bound on measured calls, so that no loop is unbounded. */
  maxCalls: number;
}

/**
 * Runs `call` with a fixed number in flight for a fixed time (or count), and reports calls/s
 * and latency over the measured window. A failing call is counted and the loop goes on; more
 * than 1% failing aborts the run, since its figures would mean nothing.
 */
export async function closedLoop(call: () => Promise<unknown>, o: LoopOptions): Promise<Rate> {
  const samples = new Samples(Math.min(o.maxCalls, 2_000_000));
  const started = performance.now();
  const measureFrom = started + o.warmupMs;
  const stopAt = measureFrom + o.durationMs;
  let done = 0;
  let errors = 0;
  let firstError: unknown;
  let measuredEnd = measureFrom;
  let cpuAtStart: { user: number; system: number } | undefined;
  // A browser has no process; the page bundle runs this file too.
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const cpuClock = proc?.cpuUsage ? proc.cpuUsage.bind(proc) : undefined;
  // The CPU clock starts with the measured window.
  const cpuTimer =
    cpuClock &&
    setTimeout(() => {
      cpuAtStart = cpuClock();
    }, o.warmupMs);
  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt || done >= o.maxCalls) return;
      try {
        await call();
      } catch (e) {
        errors++;
        firstError ??= e;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= stopAt) {
        samples.add(t1 - t0);
        done++;
        measuredEnd = t1;
      }
    }
  };
  await Promise.all(Array.from({ length: o.inFlight }, worker));
  if (cpuTimer !== undefined) clearTimeout(cpuTimer);
  const cpu = cpuClock && cpuAtStart ? cpuClock(cpuAtStart) : undefined;
  if (errors > Math.max(10, done / 100)) {
    throw new Error(`${errors} of ${done + errors} calls failed; first: ${String(firstError)}`);
  }
  const windowMs = Math.max(1, Math.min(stopAt, measuredEnd) - measureFrom);
  return {
    perSec: (done / windowMs) * 1000,
    p50: samples.quantile(0.5),
    p99: samples.quantile(0.99),
    calls: done,
    errors,
    cpuMicrosPerCall: cpu && done > 0 ? (cpu.user + cpu.system) / done : undefined,
  };
}
