import { InvalidInputError } from "../errors/etcd-error.js";
import { etcdReason } from "../errors/grpc-error.js";
import type { WatchResponse } from "../gen/etcdserverpb/rpc_pb.js";
import type { Event as EventPb } from "../gen/mvccpb/kv_pb.js";
import { type BackoffOptions, backoffDelay } from "../internal/backoff.js";
import type { Clock } from "../internal/clock.js";
import type { WatchRequestInit } from "./watch-stream.js";
import type { Watcher, WatchHost } from "./watcher.js";

export interface WatchBatchDeps {
  /**
   * Opens one request whose body holds these creates, on some endpoint. `done(error)` reports
   * how that endpoint fared.
   */
  open(
    requests: WatchRequestInit[],
    signal: AbortSignal,
  ): Promise<{ responses: AsyncIterable<WatchResponse>; done(error: unknown): void }>;
  classify(error: unknown): { error: Error; endpointFailed: boolean };
  backoff?: BackoffOptions | undefined;
  clock: Clock;
  /** Changes within this many ms go out in one request. Default 10. */
  windowMs?: number | undefined;
  /** A request not confirmed within this many ms counts as broken. Default 5000; 0 for none. */
  confirmTimeoutMs?: number | undefined;
  /**
   * etcd refused a create as not permitted, which is also how it answers a stale token. The
   * client drops the token it sent; the set goes out once more with a fresh one before a
   * refusal counts. Without it, a refusal fails its watch at once.
   */
  authRefused?: (() => void) | undefined;
  /** Watches one request may carry; more fail at once. Default 1,000. */
  maxWatches?: number | undefined;
}

// etcd-web-bridge's default --max-watch-creates: a body with more creates is refused whole.
const defaultMaxWatches = 1000;

/**
 * The shared request's life, changed only in WatchBatch.transition:
 *
 *   idle ──change──▶ opening ──all creates answered──▶ serving ──change──▶ switching
 *                     ▲   │                              │  ▲                  │
 *                     │   └──broken──▶ backoff ◀──broken─┘  └──new confirmed───┘
 *                     └────timer or online────┘                (old aborted)
 *
 * Any state goes to idle when the last watch leaves. In switching, the serving request
 * breaking leaves the new one opening; the new one breaking sends both to backoff.
 */
export type BatchState = "idle" | "opening" | "serving" | "switching" | "backoff";

/** One request: the watches its body created, by the watch_id the client chose. */
class BatchRequest {
  readonly abort = new AbortController();
  readonly unanswered: Set<bigint>;
  /** Events of a fragmented response, per watch, until its last fragment. */
  readonly fragments = new Map<bigint, EventPb[]>();
  confirmTimer: unknown;
  /** The endpoint's failure to report when the request is over. */
  failure: Error | undefined;

  constructor(
    readonly members: ReadonlyMap<bigint, Watcher>,
    /** Sent after a refusal dropped the token: another refusal is the user's permissions. */
    readonly freshAuth: boolean,
  ) {
    this.unanswered = new Set(members.keys());
  }
}

/**
 * Every watch of a client in one request, for protocols whose request body cannot stream
 * (grpc-web over fetch; the gateway with auth uses one per watch). The body holds a create
 * for every current watch, each with its own watch_id and its own next revision. When the set changes,
 * the changes of one window go out together as a new request; it is confirmed (every create
 * answered) before the old one is aborted, so at most two requests, hence two connections,
 * are open at any moment. Both deliver for a while; each watch drops what it already has
 * (Watcher.deliver keeps the next revision), so nothing is lost or repeated across a switch.
 */
export class WatchBatch implements WatchHost {
  private readonly ids = new Map<Watcher, bigint>();
  private nextId = 1n;
  private current: BatchState = "idle";
  private serving: BatchRequest | undefined;
  private pending: BatchRequest | undefined;
  /** The set changed since the newest request was built. */
  private dirty = false;
  private windowTimer: unknown;
  private backoffTimer: unknown;
  private failures = 0;
  /** A refusal dropped the token; the next request goes with a fresh one. */
  private authRetry = false;

  constructor(private readonly deps: WatchBatchDeps) {}

  get state(): BatchState {
    return this.current;
  }

  /** Requests open now: one, or two while switching. */
  get openRequests(): number {
    return (this.serving ? 1 : 0) + (this.pending ? 1 : 0);
  }

  add(w: Watcher): void {
    const max = this.deps.maxWatches ?? defaultMaxWatches;
    if (this.ids.size >= max) {
      // Refused alone: in the request, it would make the proxy refuse every watch.
      w.fail(
        new InvalidInputError(
          `a client carries at most ${max} watches over one watch request; cancel one first`,
          "watch",
        ),
      );
      return;
    }
    // watch_id 0 asks etcd to choose one; the client chooses every id here.
    this.ids.set(w, this.nextId++);
    w.attach(this);
    this.changed();
  }

  remove(w: Watcher): void {
    if (!this.ids.delete(w)) return;
    if (this.ids.size > 0) {
      this.changed();
      return;
    }
    this.clearTimers();
    this.end(this.serving);
    this.end(this.pending);
    this.serving = undefined;
    this.pending = undefined;
    this.dirty = false;
    this.failures = 0;
    this.transition("idle");
  }

  /** Retries at once instead of waiting out the backoff (the browser came back online). */
  wake(): void {
    if (this.current !== "backoff") return;
    this.failures = 0;
    this.clearBackoff();
    this.issue();
  }

  private changed(): void {
    this.dirty = true;
    if (this.windowTimer !== undefined || this.current === "backoff") return;
    this.windowTimer = this.deps.clock.setTimeout(() => {
      this.windowTimer = undefined;
      this.flush();
    }, this.deps.windowMs ?? 10);
  }

  /** Sends the changed set, unless a request already awaits its confirmation. */
  private flush(): void {
    if (!this.dirty || this.ids.size === 0) return;
    if (this.current === "idle" || this.current === "serving") this.issue();
  }

  private issue(): void {
    this.dirty = false;
    const members = new Map<bigint, Watcher>();
    for (const [w, id] of this.ids) members.set(id, w);
    const r = new BatchRequest(members, this.authRetry);
    this.authRetry = false;
    this.pending = r;
    if (this.serving) this.transition("switching");
    else {
      this.transition("opening");
      // A watch etcd confirmed before is reconnecting now.
      for (const w of members.values()) w.connecting(w.state !== "connecting");
    }
    const confirmMs = this.deps.confirmTimeoutMs ?? 5_000;
    if (confirmMs > 0) {
      r.confirmTimer = this.deps.clock.setTimeout(() => {
        r.confirmTimer = undefined;
        const n = r.unanswered.size;
        r.abort.abort(new Error(`${n} watch creates not answered within ${confirmMs} ms`));
        this.broken(r, r.abort.signal.reason);
      }, confirmMs);
    }
    void this.run(r);
  }

  private async run(r: BatchRequest): Promise<void> {
    const requests = [...r.members].map(([id, w]) => ({
      requestUnion: { case: "createRequest" as const, value: w.createRequest(id) },
    }));
    let error: unknown;
    let report: ((error: unknown) => void) | undefined;
    try {
      const { responses, done } = await this.deps.open(requests, r.abort.signal);
      report = done;
      for await (const res of responses) {
        if (r.abort.signal.aborted) break;
        this.route(r, res);
      }
      error = new Error("the watch request ended");
    } catch (e) {
      error = e;
    }
    if (!r.abort.signal.aborted) this.broken(r, error);
    report?.(r.failure);
  }

  private route(r: BatchRequest, res: WatchResponse): void {
    const id = this.watchIdOf(r, res);
    const w = r.members.get(id);
    const live = w !== undefined && this.ids.get(w) === id;
    if (r.unanswered.has(id) && (res.created || res.canceled)) {
      if (res.canceled && this.mayBeStaleAuth(r, res)) {
        this.retryAuth();
        return;
      }
      r.unanswered.delete(id);
      if (live && res.created) w.created(res);
      if (live && res.canceled) w.deliver({ ...res, cancelReason: bareReason(res.cancelReason) });
      if (r.unanswered.size === 0) this.confirmed(r);
      return;
    }
    if (!live) return;
    if (res.fragment) {
      const held = r.fragments.get(id) ?? [];
      held.push(...res.events);
      r.fragments.set(id, held);
      return;
    }
    const held = r.fragments.get(id);
    if (held) {
      r.fragments.delete(id);
      w.deliver({ ...res, events: [...held, ...res.events] });
    } else w.deliver(res);
  }

  /** Sends the set again at once, with a fresh token, in place of every open request. */
  private retryAuth(): void {
    this.deps.authRefused?.();
    this.authRetry = true;
    this.end(this.serving);
    this.end(this.pending);
    this.serving = undefined;
    this.pending = undefined;
    this.clearWindow();
    this.issue();
  }

  /**
   * The watch a response is for. etcd answers a create it refuses before watching (auth: a
   * stale token, no permission) with watch_id -1; it answers creates in body order, so that
   * is the oldest create not yet answered.
   */
  private watchIdOf(r: BatchRequest, res: WatchResponse): bigint {
    if (res.watchId !== -1n || !res.created) return res.watchId;
    for (const id of r.unanswered) return id;
    return res.watchId;
  }

  private mayBeStaleAuth(r: BatchRequest, res: WatchResponse): boolean {
    if (!this.deps.authRefused || r.freshAuth) return false;
    const reason = etcdReason(bareReason(res.cancelReason));
    return reason === "permission-denied" || reason === "invalid-auth-token";
  }

  private confirmed(r: BatchRequest): void {
    if (r !== this.pending) return;
    this.clearConfirm(r);
    this.failures = 0;
    this.end(this.serving);
    this.serving = r;
    this.pending = undefined;
    this.transition("serving");
    if (this.dirty) this.changed();
  }

  private broken(r: BatchRequest, error: unknown): void {
    if (r !== this.serving && r !== this.pending) return;
    this.clearConfirm(r);
    const verdict = this.deps.classify(error);
    if (verdict.endpointFailed) r.failure = verdict.error;
    // Aborted here so that its run ends, and reports, whatever the state.
    r.abort.abort(verdict.error);
    if (!verdict.endpointFailed) {
      // etcd refused the request itself (not one watch of it): no other endpoint does better.
      for (const w of [...this.ids.keys()]) w.fail(verdict.error);
      return;
    }
    if (r === this.serving && this.pending) {
      // The new request carries the watches: it goes on alone. Those it has not confirmed yet
      // wait for it.
      const next = this.pending;
      this.serving = undefined;
      this.transition("opening");
      for (const [w, id] of this.ids) {
        if (next.members.get(id) !== w || next.unanswered.has(id)) w.connecting(true);
      }
      return;
    }
    this.end(this.serving);
    this.end(this.pending);
    this.serving = undefined;
    this.pending = undefined;
    this.transition("backoff");
    for (const w of this.ids.keys()) w.connecting(true);
    this.clearWindow();
    this.dirty = true;
    this.backoffTimer = this.deps.clock.setTimeout(
      () => {
        this.backoffTimer = undefined;
        this.issue();
      },
      backoffDelay(this.failures++, this.deps.backoff),
    );
  }

  private end(r: BatchRequest | undefined): void {
    if (!r) return;
    this.clearConfirm(r);
    r.abort.abort(new Error("the watch set moved to another request"));
  }

  private clearConfirm(r: BatchRequest): void {
    if (r.confirmTimer !== undefined) this.deps.clock.clearTimeout(r.confirmTimer);
    r.confirmTimer = undefined;
  }

  private clearWindow(): void {
    if (this.windowTimer !== undefined) this.deps.clock.clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
  }

  private clearBackoff(): void {
    if (this.backoffTimer !== undefined) this.deps.clock.clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
  }

  private clearTimers(): void {
    this.clearWindow();
    this.clearBackoff();
  }

  private transition(next: BatchState): void {
    this.current = next;
  }
}

/** etcd's own message inside a Go gRPC error text ("rpc error: code = X desc = <message>"). */
function bareReason(reason: string): string {
  const m = /^rpc error: code = \w+ desc = (.*)$/s.exec(reason);
  return m?.[1] ?? reason;
}
