import { ContextError, type EtcdError, isEtcdError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { backoffDelay, sleep } from "../internal/backoff.js";
import type { Clock } from "../internal/clock.js";

export interface KeepAliveOptions {
  /** Stops the keepAlive; the lease then expires after its TTL unless revoked. */
  signal?: AbortSignal | undefined;
}

/** alive → lost (expired, revoked, or not renewed in time) | stopped (signal or stop()). */
export type KeepAliveState = "alive" | "lost" | "stopped";

/** One renewal: resolves with the new TTL in seconds, or rejects. */
export type Renew = (signal: AbortSignal, timeoutMs: number) => Promise<{ ttl: bigint }>;

/**
 * Keeps one lease alive: renews it every TTL/3; when a renewal fails it tries again, with
 * backoff, until the lease would have expired. The app learns of a loss through `lost`
 * (a promise that resolves with the error), onLost(), or state.
 */
export class KeepAlive {
  /** Resolves with the error when the lease is lost; never rejects, stays pending while alive. */
  readonly lost: Promise<EtcdError>;
  private resolveLost!: (e: EtcdError) => void;
  private current: KeepAliveState = "alive";
  private readonly stopping = new AbortController();
  private readonly renewListeners = new Set<(ttl: bigint) => void>();
  private ttlSeconds = 0n;
  private renewedAt = 0;
  private readonly onAbort = () => this.stop();

  /** @internal */
  constructor(
    readonly id: bigint,
    private readonly renew: Renew,
    options: { signal?: AbortSignal | undefined },
    private readonly clock: Clock,
  ) {
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
    if (options.signal?.aborted) this.stop();
    else void this.run(options.signal);
  }

  get state(): KeepAliveState {
    return this.current;
  }

  /** The TTL of the last renewal, in seconds; 0n before the first. */
  get ttl(): bigint {
    return this.ttlSeconds;
  }

  /** Calls listener after every renewal with the new TTL; returns the unsubscribe function. */
  onRenew(listener: (ttl: bigint) => void): () => void {
    this.renewListeners.add(listener);
    return () => this.renewListeners.delete(listener);
  }

  /** Calls listener once if the lease is lost. */
  onLost(listener: (error: EtcdError) => void): void {
    void this.lost.then(listener);
  }

  /** Stops renewing. The lease itself lives on until its TTL runs out. */
  stop(): void {
    if (this.current !== "alive") return;
    this.current = "stopped";
    this.stopping.abort(new ContextError("canceled", { message: "keepAlive stopped" }));
  }

  private async run(signal: AbortSignal | undefined): Promise<void> {
    try {
      // The first renewal learns the TTL; with no deadline known yet, allow 30 s for it.
      await this.renewUntil(this.clock.now() + 30_000);
      while (this.current === "alive") {
        await sleep(Number(this.ttlSeconds * 1000n) / 3, this.stopping.signal, this.clock);
        await this.renewUntil(this.renewedAt + Number(this.ttlSeconds * 1000n));
      }
    } catch (e) {
      if (this.current === "alive") this.lose(e);
    } finally {
      signal?.removeEventListener("abort", this.onAbort);
    }
  }

  /** Renews, retrying with backoff until `deadline` (clock ms); throws what ends the lease. */
  private async renewUntil(deadline: number): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - this.clock.now();
      if (left <= 0) {
        throw new ContextError("deadline-exceeded", {
          message: `lease ${this.id.toString(16)} was not renewed within its TTL (${this.ttlSeconds} s)${lastError instanceof Error ? `: ${lastError.message}` : ""}`,
          cause: lastError,
        });
      }
      try {
        const { ttl } = await this.renew(this.stopping.signal, left);
        this.ttlSeconds = ttl;
        this.renewedAt = this.clock.now();
        for (const l of this.renewListeners) {
          try {
            l(ttl);
          } catch {
            // A listener's bug must not stop the renewals.
          }
        }
        return;
      } catch (e) {
        if (this.current !== "alive") return;
        if (e instanceof GrpcError && e.reason === "lease-not-found") throw e;
        lastError = e;
        const wait = Math.min(
          backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }),
          Math.max(0, deadline - this.clock.now()),
        );
        await sleep(wait, this.stopping.signal, this.clock);
      }
    }
  }

  private lose(e: unknown): void {
    this.current = "lost";
    const error = isEtcdError(e)
      ? e
      : new ContextError("deadline-exceeded", { message: String(e), cause: e });
    this.resolveLost(error);
  }
}
