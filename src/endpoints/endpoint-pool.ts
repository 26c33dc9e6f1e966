import { type Clock, systemClock } from "../internal/clock.js";

/**
 * Each endpoint's health, changed in one place (EndpointPool.transition):
 *   unknown ──success──▶ healthy ◀──success── unhealthy
 *      └──────failure──────▶ unhealthy ◀──failure──┘
 */
export type EndpointHealth = "unknown" | "healthy" | "unhealthy";

export interface EndpointState {
  readonly url: string;
  readonly health: EndpointHealth;
  /** The error of the last failed call or probe; cleared by the next success. */
  readonly lastError: Error | undefined;
  /** Round-trip time of the last successful call or probe, in ms. */
  readonly latencyMs: number | undefined;
  /** Clock time of the last report, in ms. */
  readonly checkedAt: number | undefined;
}

export type EndpointListener = (changed: EndpointState, all: readonly EndpointState[]) => void;

/**
 * The endpoints of one client. One endpoint is pinned and used while it works, so its
 * connection is reused; on failure the pin moves round-robin to the next endpoint that is
 * not known to be unhealthy.
 */
export class EndpointPool {
  private states: EndpointState[];
  private pin = 0;
  private readonly listeners = new Set<EndpointListener>();
  /** order(), kept until the pin or a health changes: every call asks for it. */
  private orderCache: readonly string[] | undefined;

  constructor(
    urls: readonly string[],
    private readonly clock: Clock = systemClock,
  ) {
    if (urls.length === 0) throw new RangeError("an EndpointPool needs at least one endpoint");
    this.states = urls.map(fresh);
  }

  list(): readonly EndpointState[] {
    return this.states;
  }

  get(url: string): EndpointState | undefined {
    return this.states.find((s) => s.url === url);
  }

  get pinned(): string {
    return this.at(this.pin).url;
  }

  /**
   * The order in which one call tries endpoints: the pinned one, then round-robin after it.
   * Endpoints known to be unhealthy go last rather than away, so a call still reaches the
   * cluster when every probe is failing.
   */
  order(): readonly string[] {
    this.orderCache ??= this.computeOrder();
    return this.orderCache;
  }

  private computeOrder(): string[] {
    const n = this.states.length;
    const ring = Array.from({ length: n }, (_, i) => this.at((this.pin + i) % n));
    return [
      ...ring.filter((s) => s.health !== "unhealthy"),
      ...ring.filter((s) => s.health === "unhealthy"),
    ].map((s) => s.url);
  }

  reportSuccess(url: string, latencyMs?: number): void {
    const i = this.indexOf(url);
    if (i < 0) return;
    this.transition(i, "healthy", undefined, latencyMs);
    // Stay on a working endpoint; move only when the pinned one is not healthy.
    if (this.at(this.pin).health === "unhealthy") this.setPin(i);
  }

  reportFailure(url: string, error: Error): void {
    const i = this.indexOf(url);
    if (i < 0) return;
    this.transition(i, "unhealthy", error, undefined);
    if (i === this.pin) this.advancePin();
  }

  /**
   * Marks every endpoint unhealthy with this error (the browser went offline), leaving the pin
   * where it is: the next success, a call's or the probe's, clears it.
   */
  reportOffline(error: Error): void {
    for (let i = 0; i < this.states.length; i++) this.transition(i, "unhealthy", error, undefined);
  }

  /** Replaces the endpoint list (autoSync), keeping what is known of the ones that stay. */
  replace(urls: readonly string[]): void {
    if (urls.length === 0) return;
    const pinned = this.pinned;
    this.states = urls.map((u) => this.get(u) ?? fresh(u));
    this.orderCache = undefined;
    this.setPin(Math.max(0, this.indexOf(pinned)));
    const first = this.states[0];
    if (first) this.notify(first);
  }

  /** Calls listener on every change of an endpoint's state; returns the unsubscribe function. */
  subscribe(listener: EndpointListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private transition(
    i: number,
    health: EndpointHealth,
    error: Error | undefined,
    latencyMs: number | undefined,
  ): void {
    const prev = this.at(i);
    if (prev.health !== health) this.orderCache = undefined;
    const next: EndpointState = {
      url: prev.url,
      health,
      lastError: health === "healthy" ? undefined : (error ?? prev.lastError),
      latencyMs: latencyMs ?? prev.latencyMs,
      checkedAt: this.clock.now(),
    };
    this.states = this.states.map((s, j) => (j === i ? next : s));
    this.notify(next);
  }

  private notify(changed: EndpointState): void {
    for (const l of this.listeners) {
      try {
        l(changed, this.states);
      } catch {
        // A listener's bug must not break calls.
      }
    }
  }

  private advancePin(): void {
    const n = this.states.length;
    for (let step = 1; step <= n; step++) {
      const j = (this.pin + step) % n;
      if (this.at(j).health !== "unhealthy") {
        this.setPin(j);
        return;
      }
    }
    this.setPin((this.pin + 1) % n);
  }

  private setPin(i: number): void {
    if (i !== this.pin) this.orderCache = undefined;
    this.pin = i;
  }

  private indexOf(url: string): number {
    return this.states.findIndex((s) => s.url === url);
  }

  private at(i: number): EndpointState {
    const s = this.states[i];
    if (!s) throw new RangeError(`no endpoint ${i}`);
    return s;
  }
}

function fresh(url: string): EndpointState {
  return {
    url,
    health: "unknown",
    lastError: undefined,
    latencyMs: undefined,
    checkedAt: undefined,
  };
}
