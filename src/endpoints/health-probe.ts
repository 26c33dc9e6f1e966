import { type Clock, systemClock } from "../internal/clock.js";
import type { EndpointPool } from "./endpoint-pool.js";

export interface HealthProbeOptions {
  /** Time between rounds of probes, in ms. */
  intervalMs: number;
  /** Limit on one probe, in ms; past it the endpoint counts as unhealthy. */
  timeoutMs: number;
  clock?: Clock | undefined;
}

/** Checks one endpoint; resolves when it is healthy, rejects with the reason when not. */
export type Probe = (endpoint: string, signal: AbortSignal) => Promise<void>;

/**
 * Probes every endpoint of a pool now and then, and reports each result to the pool, whose
 * state calls read and skip unhealthy endpoints by. Probes are cheap (one small RPC), run
 * one round at a time, and stop at once on stop(): no timer outlives it.
 */
export class HealthProbe {
  private timer: unknown;
  private running: AbortController | undefined;
  private stopped = true;
  private readonly clock: Clock;

  constructor(
    private readonly pool: EndpointPool,
    private readonly probe: Probe,
    private readonly options: HealthProbeOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.running?.abort(new Error("health probe stopped"));
    this.running = undefined;
  }

  /** Probes every endpoint once, now. Resolves when all have answered or timed out. */
  async probeAll(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.pool.list().map((s) => this.probeOne(s.url, signal)));
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const controller = new AbortController();
    this.running = controller;
    await this.probeAll(controller.signal);
    // stop() (and perhaps start()) ran meanwhile: that round's loop is not this one.
    if (this.running !== controller) return;
    this.running = undefined;
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.round(), this.options.intervalMs);
    unref(this.timer);
  }

  private async probeOne(url: string, outer: AbortSignal | undefined): Promise<void> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const timer = this.clock.setTimeout(
      () => controller.abort(new Error(`no answer within ${this.options.timeoutMs} ms`)),
      this.options.timeoutMs,
    );
    const started = this.clock.now();
    try {
      await this.probe(url, controller.signal);
      if (!outer?.aborted) this.pool.reportSuccess(url, this.clock.now() - started);
    } catch (e) {
      if (outer?.aborted) return;
      const reason = controller.signal.aborted ? controller.signal.reason : e;
      this.pool.reportFailure(url, reason instanceof Error ? reason : new Error(String(reason)));
    } finally {
      this.clock.clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }
}

/** Lets Node exit while only a probe timer is pending; a no-op in browsers. */
function unref(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
  }
}
