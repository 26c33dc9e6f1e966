import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { AttemptVerdict } from "../endpoints/failover.js";
import { GrpcError } from "../errors/grpc-error.js";
import type { WatchRequestSchema, WatchResponse } from "../gen/etcdserverpb/rpc_pb.js";
import { AsyncQueue } from "../internal/async-queue.js";
import { type BackoffOptions, backoffDelay, sleep } from "../internal/backoff.js";
import type { Clock } from "../internal/clock.js";
import type { Watcher, WatchHost } from "./watcher.js";

export type WatchRequestInit = MessageInitShape<typeof WatchRequestSchema>;

export interface WatchStreamDeps {
  /**
   * Opens one bidi Watch stream on some endpoint, sending `requests` as they come.
   * `done(error)` reports how that endpoint fared.
   */
  open(
    requests: AsyncIterable<WatchRequestInit>,
    signal: AbortSignal,
  ): Promise<{ responses: AsyncIterable<WatchResponse>; done(error: unknown): void }>;
  classify(error: unknown): AttemptVerdict;
  backoff?: BackoffOptions | undefined;
  clock: Clock;
  /** Called when the last watcher left. */
  onIdle?: (() => void) | undefined;
}

/**
 * How long the last watch of a shared stream waits for etcd to confirm its cancel before the
 * stream is closed anyway (a member that stopped answering).
 */
export const CANCEL_CONFIRM_MS = 1_000;

/**
 * One bidi Watch stream and every watch of a client on it (grpc, and the gateway's
 * WebSocket). Creates go out one at a time: etcd numbers the watches of a stream in the order
 * it creates them, so each "created" answer belongs to the oldest unanswered create. When the stream breaks, it reopens after jittered backoff and
 * re-creates every watch from its next revision, so no event is lost or repeated. A watch
 * leaving sends a cancel. The last one leaving sends its cancel too, and the stream closes
 * once etcd confirms it: closing etcd 3.5's WebSocket gateway socket does not end the watches
 * on it (3.4's does).
 */
export class WatchStream implements WatchHost {
  private readonly watchers = new Set<Watcher>();
  private readonly byId = new Map<bigint, Watcher>();
  private pendingCreates: Watcher[] = [];
  private requests: AsyncQueue<WatchRequestInit> | undefined;
  private abort: AbortController | undefined;
  private running = false;
  private createInFlight = false;
  /** The last watches' cancels awaiting etcd's confirmation before the stream closes. */
  private closing:
    | { ids: Set<bigint>; timer: unknown; done: () => void; drained: Promise<void> }
    | undefined;
  /** The backoff wait between attempts, which wake() cuts short. */
  private napping: AbortController | undefined;

  constructor(private readonly deps: WatchStreamDeps) {}

  get size(): number {
    return this.watchers.size;
  }

  add(w: Watcher): void {
    this.watchers.add(w);
    w.attach(this);
    // A new watch while the old ones' cancels drain: the stream stays open for it.
    this.stopClosing(false);
    if (!this.running) {
      void this.run();
    } else {
      this.pendingCreates.push(w);
      this.sendNextCreate();
    }
  }

  remove(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    // A create in flight stays at the head: its "created" answer is still coming, and handle()
    // cancels it then. Dropping it would hand that answer to the next watch.
    this.pendingCreates = this.pendingCreates.filter(
      (p, i) => p !== w || (i === 0 && this.createInFlight),
    );
    const ids: bigint[] = [];
    for (const [id, v] of this.byId) {
      if (v !== w) continue;
      this.byId.delete(id);
      ids.push(id);
    }
    for (const id of ids) this.sendCancel(id);
    if (this.watchers.size > 0) return;
    this.deps.onIdle?.();
    const open = this.requests !== undefined && !this.requests.closed;
    if (open && (ids.length > 0 || this.createInFlight)) {
      this.closeWhenCanceled(ids);
    } else {
      this.abort?.abort(new Error("no watch left on the stream"));
    }
  }

  /**
   * Resolves once the stream has closed after its last watch left, or at once when no close
   * is pending. The client's close() waits on it, so the cancels reach etcd first.
   */
  drained(): Promise<void> {
    return this.closing?.drained ?? Promise.resolve();
  }

  private closeWhenCanceled(ids: bigint[]): void {
    let done = () => {};
    const drained = new Promise<void>((resolve) => {
      done = resolve;
    });
    const timer = this.deps.clock.setTimeout(() => this.stopClosing(true), CANCEL_CONFIRM_MS);
    this.closing = { ids: new Set(ids), timer, done, drained };
  }

  /** Ends the close wait; `close` aborts the stream (all cancels confirmed, or time is up). */
  private stopClosing(close: boolean): void {
    const c = this.closing;
    if (!c) return;
    this.closing = undefined;
    this.deps.clock.clearTimeout(c.timer);
    if (close) this.abort?.abort(new Error("no watch left on the stream"));
    c.done();
  }

  private sendCancel(id: bigint): void {
    this.requests?.push({ requestUnion: { case: "cancelRequest", value: { watchId: id } } });
  }

  /** Reopens at once instead of waiting out the backoff (the browser came back online). */
  wake(): void {
    this.napping?.abort();
  }

  private async run(): Promise<void> {
    this.running = true;
    let failures = 0;
    try {
      while (this.watchers.size > 0) {
        const abort = new AbortController();
        const requests = new AsyncQueue<WatchRequestInit>();
        this.abort = abort;
        this.requests = requests;
        this.byId.clear();
        this.createInFlight = false;
        this.pendingCreates = [...this.watchers];
        for (const w of this.watchers) w.connecting(failures > 0);
        this.sendNextCreate();
        let error: unknown;
        let report: ((e: unknown) => void) | undefined;
        try {
          const { responses, done } = await this.deps.open(requests, abort.signal);
          report = done;
          for await (const res of responses) {
            if (this.handle(res)) failures = 0;
          }
          error = new GrpcError(Code.Unavailable, "the watch stream ended");
        } catch (e) {
          error = e;
        } finally {
          requests.end();
          if (this.abort === abort) this.stopClosing(false);
        }
        if (abort.signal.aborted || this.watchers.size === 0) {
          report?.(undefined);
          continue;
        }
        const verdict = this.deps.classify(error);
        report?.(verdict.endpointFailed ? verdict.error : undefined);
        if (!verdict.endpointFailed) {
          for (const w of [...this.watchers]) w.fail(verdict.error);
          break;
        }
        for (const w of this.watchers) w.connecting(true);
        const nap = new AbortController();
        this.napping = nap;
        const delay = backoffDelay(failures++, this.deps.backoff);
        await sleep(delay, nap.signal, this.deps.clock).catch(() => {});
        this.napping = undefined;
      }
    } finally {
      this.running = false;
      this.abort = undefined;
      this.requests = undefined;
    }
  }

  /** Routes one response; true when it shows the stream works (a watch was created). */
  private handle(res: WatchResponse): boolean {
    if (res.created) {
      const w = this.pendingCreates.shift();
      this.createInFlight = false;
      this.sendNextCreate();
      if (!w) return true;
      if (!this.watchers.has(w)) {
        // Left while its create was in flight: cancel it on the server too.
        if (!res.canceled) {
          this.sendCancel(res.watchId);
          this.closing?.ids.add(res.watchId);
        }
        return true;
      }
      this.byId.set(res.watchId, w);
      w.created(res);
      if (res.canceled) w.deliver(res);
      return true;
    }
    if (res.canceled && this.closing?.ids.delete(res.watchId)) {
      if (this.closing.ids.size === 0 && !this.createInFlight) this.stopClosing(true);
      return false;
    }
    const w = this.byId.get(res.watchId);
    if (!w) return false;
    w.deliver(res);
    return false;
  }

  private sendNextCreate(): void {
    if (this.createInFlight) return;
    const next = this.pendingCreates[0];
    if (!next || !this.requests) return;
    this.createInFlight = true;
    this.requests.push({ requestUnion: { case: "createRequest", value: next.createRequest() } });
  }
}
