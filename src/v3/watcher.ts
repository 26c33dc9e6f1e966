import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { GrpcError } from "../errors/grpc-error.js";
import type {
  WatchCreateRequestSchema,
  WatchResponse as WatchResponsePb,
} from "../gen/etcdserverpb/rpc_pb.js";
import { WatchCreateRequest_FilterType } from "../gen/etcdserverpb/rpc_ref.js";
import type { Event as EventPb } from "../gen/mvccpb/kv_pb.js";
import { Event_EventType } from "../gen/mvccpb/kv_ref.js";
import { AsyncQueue } from "../internal/async-queue.js";
import type { Bytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import { waitUntilWatching } from "../internal/state-wait.js";
import { header, KeyValue, type ResponseHeader } from "./key-value.js";
import { int64, type KeyRangeOptions, keyRange } from "./kv.js";

export interface WatchOptions extends KeyRangeOptions {
  /** Deliver events from this revision on (history included); default: from now. */
  startRevision?: number | bigint | undefined;
  /** Each event carries the key-value as it was before it. */
  prevKv?: boolean | undefined;
  /** Leave out put events, or delete events. */
  filters?: { noPut?: boolean | undefined; noDelete?: boolean | undefined } | undefined;
  /** Ask etcd for progress notifications when the watch is idle (etcd's own interval). */
  progressNotify?: boolean | undefined;
  /** Ends the watch and closes its stream (or its id on a shared stream). */
  signal?: AbortSignal | undefined;
}

export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
  /** The key-value before this event, with the prevKv option. */
  prevKv: KeyValue | undefined;
}

export interface WatchResponse {
  header: ResponseHeader;
  /** In revision order. Empty for a progress notification. */
  events: WatchEvent[];
  /** A progress notification: every event up to header.revision has been delivered. */
  progressNotify: boolean;
}

/**
 * A watch's life, changed only in Watcher.transition:
 *   connecting → watching ⇄ reconnecting,  and from any of them → closed | failed
 */
export type WatchState = "connecting" | "watching" | "reconnecting" | "closed" | "failed";

/** How a watcher reaches its stream; the stream (watch-stream.ts) implements it. */
export interface WatchHost {
  remove(w: Watcher): void;
}

/**
 * One watch: an async iterable of responses, each event delivered once and in revision
 * order, across broken streams. It remembers the next revision to deliver; a resumed watch
 * starts there, and anything older that arrives again is dropped.
 */
export class Watcher implements AsyncIterable<WatchResponse> {
  private readonly queue: AsyncQueue<WatchResponse>;
  private readonly key: Uint8Array;
  private readonly rangeEnd: Uint8Array;
  private readonly listeners = new Set<(s: WatchState) => void>();
  private current: WatchState = "connecting";
  private next: bigint;
  private fragments: EventPb[] = [];
  private host: WatchHost | undefined;
  private iterated = false;
  private failure: Error | undefined;
  private readonly onAbort = () => this.cancel();

  /** @internal */
  constructor(
    key: Bytes,
    private readonly options: WatchOptions,
  ) {
    const range = keyRange(key, options, "watch");
    this.key = range.key;
    this.rangeEnd = range.rangeEnd;
    this.next = int64(options.startRevision, "startRevision");
    this.queue = new AsyncQueue(() => this.cancel());
    if (options.signal?.aborted) queueMicrotask(() => this.cancel());
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  get state(): WatchState {
    return this.current;
  }

  /** The revision the watch resumes from: the last delivered event's + 1. 0n before any. */
  get revision(): bigint {
    return this.next;
  }

  /** Calls listener on every state change; returns the unsubscribe function. */
  onStateChange(listener: (s: WatchState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once etcd has confirmed the watch (state "watching"; at once if it is), so that
   * writes made after it are seen. Rejects with the watch's error if it fails first, with a
   * ContextError "canceled" if it is cancelled first or options.signal fires, and with a
   * ContextError "deadline-exceeded" after options.timeoutMs (no limit by default).
   */
  ready(options: CallOptions = {}): Promise<void> {
    return waitUntilWatching(
      this,
      () => this.failure,
      "the watch was cancelled before etcd confirmed it",
      options,
    );
  }

  /** Ends the watch: the iteration finishes, and its stream or server-side id is closed. */
  cancel(): void {
    if (this.ended) return;
    this.transition("closed");
    this.queue.end();
    this.detach();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    if (this.iterated) throw new Error("a watch can be iterated once; start another watch");
    this.iterated = true;
    return this.queue;
  }

  // ---- called by the stream ----

  /** @internal */
  attach(host: WatchHost): void {
    this.host = host;
  }

  /** @internal */
  get ended(): boolean {
    return this.current === "closed" || this.current === "failed";
  }

  /**
   * @internal The create request, resuming where the last delivery left off; with the
   * watch_id the client chose for it when one request carries several watches.
   */
  createRequest(watchId?: bigint): MessageInitShape<typeof WatchCreateRequestSchema> {
    const filters: WatchCreateRequest_FilterType[] = [];
    if (this.options.filters?.noPut) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (this.options.filters?.noDelete) filters.push(WatchCreateRequest_FilterType.NODELETE);
    this.fragments = [];
    return {
      key: this.key,
      rangeEnd: this.rangeEnd,
      startRevision: this.next,
      prevKv: this.options.prevKv ?? false,
      progressNotify: this.options.progressNotify ?? false,
      filters,
      fragment: true,
      ...(watchId === undefined ? {} : { watchId }),
    };
  }

  /** @internal The stream is being (re)opened. */
  connecting(again: boolean): void {
    if (!this.ended) this.transition(again ? "reconnecting" : "connecting");
  }

  /** @internal etcd answered the create. */
  created(res: WatchResponsePb): void {
    if (this.ended) return;
    // Without a start revision the watch begins after the revision current at creation.
    if (this.next === 0n && res.header) this.next = res.header.revision + 1n;
    this.transition("watching");
  }

  /** @internal One response for this watch from etcd. */
  deliver(res: WatchResponsePb): void {
    if (this.ended) return;
    if (res.canceled) {
      this.failFromCancel(res);
      return;
    }
    if (res.fragment) {
      this.fragments.push(...res.events);
      return;
    }
    const events = this.fragments.length ? [...this.fragments, ...res.events] : res.events;
    this.fragments = [];
    const h = header(res.header, "watch");
    if (events.length === 0) {
      // A progress notification: everything up to header.revision has been seen.
      if (h.revision + 1n > this.next) this.next = h.revision + 1n;
      this.queue.push({ header: h, events: [], progressNotify: true });
      return;
    }
    const fresh = events.filter((e) => (e.kv?.modRevision ?? 0n) >= this.next);
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]?.kv?.modRevision ?? this.next - 1n;
    this.next = last + 1n;
    this.queue.push({ header: h, events: fresh.map(toEvent), progressNotify: false });
  }

  /** @internal The watch cannot go on. */
  fail(error: Error): void {
    if (this.ended) return;
    this.failure = error;
    this.transition("failed");
    this.queue.fail(error);
    this.detach();
  }

  private failFromCancel(res: WatchResponsePb): void {
    if (res.compactRevision > 0n) {
      this.fail(
        new GrpcError(Code.OutOfRange, "etcdserver: mvcc: required revision has been compacted", {
          reason: "compacted",
          compactRevision: res.compactRevision,
        }),
      );
      return;
    }
    if (res.cancelReason) {
      this.fail(new GrpcError(Code.FailedPrecondition, res.cancelReason));
      return;
    }
    this.fail(
      new GrpcError(Code.Canceled, "etcdserver: the watch was canceled by the server", {
        reason: "watch-canceled",
      }),
    );
  }

  private detach(): void {
    this.options.signal?.removeEventListener("abort", this.onAbort);
    const host = this.host;
    this.host = undefined;
    host?.remove(this);
  }

  private transition(next: WatchState): void {
    if (this.current === next) return;
    this.current = next;
    for (const l of this.listeners) {
      try {
        l(next);
      } catch {
        // A listener's bug must not break the watch.
      }
    }
  }
}

function toEvent(e: EventPb): WatchEvent {
  return {
    type: e.type === Event_EventType.DELETE ? "delete" : "put",
    kv: new KeyValue(e.kv ?? ({ key: new Uint8Array(), value: new Uint8Array() } as never)),
    prevKv: e.prevKv && new KeyValue(e.prevKv),
  };
}
