import { ContextError, InvalidInputError } from "../errors/etcd-error.js";
import { backoffDelay, sleep } from "../internal/backoff.js";
import type { CallOptions } from "../internal/call-options.js";
import type { Clock } from "../internal/clock.js";
import { Deadline } from "../internal/deadline.js";
import { decodeKeysResponse, type RawAnswer } from "./decode.js";
import type { V2Node, V2Resync, V2WatchEvent } from "./types.js";
import { isV2Error, type V2Error, V2ErrorCode } from "./v2-error.js";

export interface WatcherOptions extends CallOptions {
  /** Deliver events with an index above this one; without it, from now on. */
  afterIndex?: number;
  /** Watch the whole subtree of a directory. */
  recursive?: boolean;
}

type Poll = (query: URLSearchParams, deadline: Deadline) => Promise<RawAnswer>;
type Snapshot = (deadline: Deadline) => Promise<RawAnswer>;

/**
 * A watch on one key: `for await (const ev of watcher)`. Each step is one long poll
 * (wait=true&waitIndex=n) that goes on at the event's modifiedIndex + 1, so no event is
 * skipped while etcd still has it. When it no longer does (401), a V2Resync is yielded and
 * the watch goes on from the key's current state.
 *
 * The caller's signal ends the iteration quietly, as it ends a v3 watch: whoever aborted
 * knows why, and a for-await loop over a cancelled watch should just stop. Anything else
 * ends it with the error that stopped it: a ContextError "deadline-exceeded" when timeoutMs
 * passed, a ClusterError when no endpoint answered. `afterIndex` then tells where to go on.
 */
export class V2Watcher implements AsyncIterable<V2WatchEvent> {
  private after: number | undefined;
  private running = false;

  constructor(
    private readonly poll: Poll,
    private readonly snapshot: Snapshot,
    private readonly opts: WatcherOptions,
    private readonly clock: Clock,
  ) {
    const a = opts.afterIndex;
    if (a !== undefined && (!Number.isSafeInteger(a) || a < 0)) {
      throw new InvalidInputError(`afterIndex must be an etcd index >= 0, got ${a}`, "afterIndex");
    }
    this.after = a || undefined;
  }

  /** The index of the last event delivered (or of a resync): a new watcher goes on after it. */
  get afterIndex(): number | undefined {
    return this.after;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<V2WatchEvent> {
    if (this.running) throw new Error("this watcher is already being iterated");
    this.running = true;
    const deadline = new Deadline(this.opts.signal, this.opts.timeoutMs, this.clock);
    try {
      for (let idle = 0; ; ) {
        deadline.throwIfDone();
        let answer: RawAnswer;
        try {
          answer = await this.poll(this.query(), deadline);
        } catch (e) {
          if (isV2Error(e, V2ErrorCode.WatcherCleared)) {
            // etcd dropped its watchers while recovering from a snapshot: wait again from the
            // same index; if that history is gone too, the 401 below resyncs.
            await this.pause(idle++, deadline);
            continue;
          }
          if (!isV2Error(e, V2ErrorCode.EventIndexCleared)) throw deadline.error ?? e;
          const resync = await this.resync(e, deadline);
          this.after = resync.etcdIndex;
          yield resync;
          continue;
        }
        if (answer.json === undefined) {
          // The wait ended without an event (a proxy, or Node's body timeout): ask again,
          // pausing a little in case something answers empty at once.
          await this.pause(idle++, deadline);
          continue;
        }
        idle = 0;
        const event = decodeKeysResponse(answer);
        this.after = event.node.modifiedIndex;
        yield event;
      }
    } catch (e) {
      if (this.opts.signal?.aborted && e instanceof ContextError && e.reason === "canceled") return;
      throw e;
    } finally {
      deadline.dispose();
      this.running = false;
    }
  }

  private pause(attempt: number, deadline: Deadline): Promise<void> {
    return sleep(backoffDelay(attempt), deadline.signal, this.clock).catch(() =>
      deadline.throwIfDone(),
    );
  }

  private query(): URLSearchParams {
    const q = new URLSearchParams({ wait: "true" });
    if (this.opts.recursive) q.set("recursive", "true");
    if (this.after !== undefined) q.set("waitIndex", String(this.after + 1));
    return q;
  }

  /**
   * Reads the key again (through raft) to learn its state now. The watch goes on after the
   * index of that read; when the X-Etcd-Index header cannot be read (a browser, cross-origin),
   * after the highest index known to be in the read, which may repeat an event but loses none.
   */
  private async resync(cleared: V2Error, deadline: Deadline): Promise<V2Resync> {
    const lostAfter = this.after ?? cleared.index;
    let node: V2Node | undefined;
    let index: number;
    try {
      const answer = await this.snapshot(deadline);
      node = decodeKeysResponse(answer).node;
      index = answer.etcdIndex ?? Math.max(cleared.index, highestIndex(node));
    } catch (e) {
      if (!isV2Error(e, V2ErrorCode.KeyNotFound)) throw deadline.error ?? e;
      node = undefined;
      index = e.index;
    }
    return { action: "resync", node, lostAfter, etcdIndex: index, error: cleared };
  }
}

function highestIndex(node: V2Node): number {
  let max = node.modifiedIndex;
  for (const child of node.nodes ?? []) max = Math.max(max, highestIndex(child));
  return max;
}
