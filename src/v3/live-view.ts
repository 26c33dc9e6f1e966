import { ClusterError, ContextError, InvalidInputError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { type BackoffOptions, backoffDelay, sleep } from "../internal/backoff.js";
import { type Bytes, checkBytes, toText } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import { type Clock, systemClock } from "../internal/clock.js";
import { waitUntilWatching } from "../internal/state-wait.js";
import type { KeyValue } from "./key-value.js";
import { type Lister, type Listing, listPrefix } from "./live-list.js";
import { LiveSnapshot, type LiveViewState } from "./live-snapshot.js";
import type { Watcher, WatchOptions, WatchResponse } from "./watcher.js";

export { LiveSnapshot, type LiveViewState } from "./live-snapshot.js";

/** One change to a live view: a key written or deleted, or the whole view listed again. */
export type LiveChange =
  | {
      type: "put" | "delete";
      /** The key-value written; for a delete, the key and the delete's modRevision. */
      kv: KeyValue;
      /** The key-value the view held before this change, if it held the key. */
      prevKv: KeyValue | undefined;
    }
  | {
      /** The view listed its prefix again (etcd compacted past it): read it anew. */
      type: "reset";
    };

export interface LiveViewOptions {
  /** Ends the view, as close() does. */
  signal?: AbortSignal | undefined;
  /** Keys per page of a listing. Default 1000. */
  pageSize?: number | undefined;
  /**
   * Called with what an onChange or subscribe listener threw; the view carries on either way.
   * Default: the runtime's reportError (browsers), else console.error.
   */
  onListenerError?: ((error: unknown) => void) | undefined;
  /** Backoff between attempts when a relisting fails for want of a reachable member. */
  backoff?: BackoffOptions | undefined;
  /** @internal For tests. */
  clock?: Clock | undefined;
}

/** What a live view needs from the client: get and watch. */
export interface LiveSource extends Lister {
  watch(key: Bytes, options: WatchOptions): Watcher;
}

const defaultPageSize = 1000;

/**
 * The keys under a prefix, kept up to date: a listing, then a watch from the listing's
 * revision, as Go's mirror package or client-go's informer. If etcd compacted past the view's
 * revision while its watch was away, it lists again and emits "reset". Other errors end it
 * in state "failed" (`error` says why).
 *
 * Bind it to a UI framework as it is: getSnapshot() and subscribe() follow React's
 * useSyncExternalStore and the Svelte store contract (enough for Vue too).
 */
export class LiveView {
  private current: LiveViewState = "listing";
  private failure: unknown;
  /** Key text → key-value. Copied before a change once a snapshot shares it. */
  private byKey = new Map<string, KeyValue>();
  private shared = false;
  private snapshot: LiveSnapshot | undefined;
  private rev = 0n;
  private readonly prefix: Uint8Array;
  private readonly pageSize: number;
  private readonly clock: Clock;
  private readonly stop = new AbortController();
  private readonly changeListeners = new Set<(c: LiveChange) => void>();
  private readonly stateListeners = new Set<(s: LiveViewState) => void>();
  /** Wrapped, so that one function subscribed twice is called twice, as a store's should. */
  private readonly subscribers = new Set<{ fn: (s: LiveSnapshot) => void }>();
  private readonly onAbort = () => this.close();

  /** @internal Made by etcd.live(). */
  constructor(
    private readonly source: LiveSource,
    prefix: Bytes,
    private readonly options: LiveViewOptions = {},
  ) {
    this.prefix = checkBytes(prefix, "prefix");
    const size = options.pageSize ?? defaultPageSize;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new InvalidInputError(`pageSize must be a whole number >= 1, got ${size}`, "pageSize");
    }
    this.pageSize = size;
    this.clock = options.clock ?? systemClock;
    if (options.signal?.aborted) {
      this.close();
      return;
    }
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
    void this.run().catch((e: unknown) => this.fail(e));
  }

  get state(): LiveViewState {
    return this.current;
  }

  /** Why the view failed, in state "failed". */
  get error(): unknown {
    return this.failure;
  }

  /**
   * The revision the view reflects: every change up to it is in the view. It advances with
   * each change and with etcd's progress notifications. 0n before the first listing.
   */
  get revision(): bigint {
    return this.rev;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The key-value of a key, as get() returns it; keys are compared as UTF-8 text. */
  get(key: Bytes): KeyValue | undefined {
    return this.byKey.get(typeof key === "string" ? key : toText(key));
  }

  /** Every key-value, in etcd's key order. */
  values(): readonly KeyValue[] {
    return this.getSnapshot().values();
  }

  /** Calls listener on every change, after the view applied it; returns the unsubscribe. */
  onChange(listener: (change: LiveChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls listener on every state change; returns the unsubscribe. */
  onStateChange(listener: (state: LiveViewState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * The view as one immutable value, the same object until the next change of keys, state or
   * revision. Bound, so it can be passed on as it is (React's useSyncExternalStore).
   */
  readonly getSnapshot = (): LiveSnapshot => {
    if (!this.snapshot) {
      this.snapshot = new LiveSnapshot(this.byKey, this.current, this.rev, this.failure);
      this.shared = true;
    }
    return this.snapshot;
  };

  /**
   * Calls fn with the snapshot at once and after every change; returns the unsubscribe. The
   * Svelte store contract; React's useSyncExternalStore takes it too (a call at once with an
   * unchanged snapshot makes React do nothing). Bound, like getSnapshot.
   */
  readonly subscribe = (fn: (snapshot: LiveSnapshot) => void): (() => void) => {
    const entry = { fn };
    this.subscribers.add(entry);
    this.guard(() => fn(this.getSnapshot()));
    return () => {
      this.subscribers.delete(entry);
    };
  };

  /**
   * Resolves once the view has listed and etcd has confirmed its watch (state "watching"; at
   * once if it is). Rejects with the view's error if it fails first, with a ContextError
   * "canceled" if it is closed first or options.signal fires, and with a ContextError
   * "deadline-exceeded" after options.timeoutMs (no limit by default).
   */
  ready(options: CallOptions = {}): Promise<void> {
    return waitUntilWatching(
      this,
      () => this.failure,
      "the live view was closed",
      options,
      this.clock,
    );
  }

  /** Ends the view: its watch and any listing stop, and its state becomes "closed". */
  close(): void {
    this.end("closed");
  }

  // ---- the list-then-watch loop ----

  private get ended(): boolean {
    return this.current === "closed" || this.current === "failed";
  }

  private async run(): Promise<void> {
    let relisting = false;
    let attempt = 0;
    while (!this.ended) {
      let listing: Listing;
      try {
        listing = await listPrefix(this.source, this.prefix, this.pageSize, this.stop.signal);
      } catch (e) {
        if (this.ended) return;
        // A page's revision compacted mid-listing: start over. A relisting also waits out
        // members that cannot be reached; a first listing reports that instead.
        if (!isCompacted(e) && !(relisting && e instanceof ClusterError)) throw e;
        await sleep(backoffDelay(attempt++, this.options.backoff), this.stop.signal, this.clock);
        continue;
      }
      // A listing that finished as the view closed.
      if (this.ended) return;
      attempt = 0;
      this.replace(listing, relisting);
      const outcome = await this.watchFrom(listing.revision + 1n);
      if (outcome === "ended") {
        // The client was closed under the view.
        this.close();
        return;
      }
      relisting = true;
      this.transition("relisting");
    }
  }

  /** Follows the watch until it ends; "compacted" when etcd compacted past it. */
  private async watchFrom(startRevision: bigint): Promise<"compacted" | "ended"> {
    const w = this.source.watch(this.prefix, {
      prefix: true,
      startRevision,
      // Advances the revision while the prefix is idle, and keeps proxies from timing out.
      progressNotify: true,
      signal: this.stop.signal,
    });
    const off = w.onStateChange((s) => {
      if (s === "watching" || s === "reconnecting") this.transition(s);
    });
    try {
      for await (const res of w) this.apply(res);
      return "ended";
    } catch (e) {
      if (isCompacted(e)) return "compacted";
      throw e;
    } finally {
      off();
    }
  }

  /** A listing becomes the view's content; a relisting's replaces it and emits "reset". */
  private replace(listing: Listing, reset: boolean): void {
    this.byKey = new Map(listing.kvs.map((kv) => [kv.keyText, kv]));
    this.shared = false;
    this.rev = listing.revision;
    this.snapshot = undefined;
    if (reset) this.emit({ type: "reset" });
    this.notify();
  }

  private apply(res: WatchResponse): void {
    if (this.ended) return;
    if (res.events.length === 0) {
      // A progress notification: nothing under the prefix changed up to its revision.
      if (res.header.revision <= this.rev) return;
      this.rev = res.header.revision;
      this.snapshot = undefined;
      this.notify();
      return;
    }
    let changed = false;
    for (const e of res.events) {
      const key = e.kv.keyText;
      const prevKv = this.byKey.get(key);
      if (e.type === "delete" && !prevKv) continue;
      changed = true;
      this.writable();
      if (e.type === "put") this.byKey.set(key, e.kv);
      else this.byKey.delete(key);
      if (e.kv.modRevision > this.rev) this.rev = e.kv.modRevision;
      this.snapshot = undefined;
      this.emit({ type: e.type, kv: e.kv, prevKv });
    }
    // Subscribers hear once per response: a transaction's events land together.
    if (changed) this.notify();
  }

  /** Copy on write: a snapshot may share the map. */
  private writable(): void {
    if (!this.shared) return;
    this.byKey = new Map(this.byKey);
    this.shared = false;
  }

  // ---- state and listeners ----

  private fail(error: unknown): void {
    if (this.ended) return;
    // The client closing under the view ends it as closed, as it does its watches.
    if (error instanceof ContextError && error.reason === "canceled") {
      this.close();
      return;
    }
    this.failure = error;
    this.end("failed");
  }

  private end(state: "closed" | "failed"): void {
    if (this.ended) return;
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.transition(state);
    this.stop.abort(new ContextError("canceled", { message: "the live view was closed" }));
    this.changeListeners.clear();
    this.stateListeners.clear();
    this.subscribers.clear();
  }

  private transition(next: LiveViewState): void {
    if (this.current === next || this.ended) return;
    this.current = next;
    this.snapshot = undefined;
    for (const l of [...this.stateListeners]) this.guard(() => l(next));
    this.notify();
  }

  private emit(change: LiveChange): void {
    for (const l of [...this.changeListeners]) this.guard(() => l(change));
  }

  private notify(): void {
    if (this.subscribers.size === 0) return;
    const s = this.getSnapshot();
    for (const sub of [...this.subscribers]) this.guard(() => sub.fn(s));
  }

  /** A listener's bug must not break the view; it is reported, not swallowed. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const report =
        this.options.onListenerError ??
        (globalThis as { reportError?: (e: unknown) => void }).reportError ??
        ((x: unknown) => console.error("etcd-web: a live view listener threw", x));
      try {
        report(e);
      } catch {
        // The reporter itself failed: nothing more to do.
      }
    }
  }
}

function isCompacted(e: unknown): boolean {
  return e instanceof GrpcError && e.reason === "compacted";
}
