// Latency samples and the summaries the table prints.

/** Latencies in ms, kept in a preallocated array so recording allocates nothing. */
export class Samples {
  private readonly values: Float64Array;
  private n = 0;
  /** How many were recorded beyond capacity (counted, not kept). */
  dropped = 0;

  constructor(capacity = 1_000_000) {
    this.values = new Float64Array(capacity);
  }

  add(ms: number): void {
    if (this.n < this.values.length) this.values[this.n++] = ms;
    else this.dropped++;
  }

  get count(): number {
    return this.n + this.dropped;
  }

  /** The q-quantile (0..1) of what was kept, by nearest rank; NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return Number.NaN;
    const sorted = this.values.slice(0, this.n).sort();
    return sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))] ?? Number.NaN;
  }
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

/** How far repeats spread: (max - min) / median, as a fraction. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return m > 0 ? (Math.max(...values) - Math.min(...values)) / m : 0;
}

/** One measured cell: calls per second and latency, from one repeat. */
export interface Rate {
  perSec: number;
  p50: number;
  p99: number;
  calls: number;
  errors: number;
  /** Node only: this process's CPU time per call over the window (user + system, µs). */
  cpuMicrosPerCall?: number | undefined;
}

/** Repeats of one cell, summarised by the median of each figure and the spread of the rate. */
export interface Cell {
  perSec: number;
  p50: number;
  p99: number;
  /** (max - min) / median of perSec over the repeats. */
  spread: number;
  repeats: number;
  errors: number;
  /** Median CPU µs per call in this process, when measured. */
  cpuMicrosPerCall: number | undefined;
}

export function summarise(runs: readonly Rate[]): Cell {
  return {
    perSec: median(runs.map((r) => r.perSec)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    spread: spread(runs.map((r) => r.perSec)),
    repeats: runs.length,
    errors: runs.reduce((s, r) => s + r.errors, 0),
    cpuMicrosPerCall: runs.every((r) => r.cpuMicrosPerCall !== undefined)
      ? median(runs.map((r) => r.cpuMicrosPerCall as number))
      : undefined,
  };
}
