// A distributed lock with the key layout and transactions of Go's concurrency.Mutex, so that
// it excludes, and is excluded by, Go's Mutex and `etcdctl lock` on the same name.
import { InvalidInputError } from "../errors/etcd-error.js";
import { type Bytes, toText } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import type { ResponseHeader } from "../v3/key-value.js";
import { type Comparison, compare, op, type TxnResult } from "../v3/txn.js";
import { ConcurrencyError } from "./concurrency-error.js";
import { createRevisionOf, putSessionKey, rangeOf, whileSessionLives } from "./recipe-call.js";
import type { Session } from "./session.js";
import { firstCreate, keyPrefix, sessionKey, waitDeletes } from "./wait-deletes.js";

/**
 * A lock named by a key prefix. Each contender puts prefix + "/" + its lease ID in hex on its
 * session's lease; the key created first holds the lock, and each of the others watches the
 * key created just before its own until it is deleted (no polling, no thundering herd).
 * Mutexes on one session share its key: the lock belongs to the session, as in Go.
 * Call lock() or tryLock() once at a time on one Mutex.
 */
export class Mutex {
  /** prefix + "/": the keys of every contender lie under it. */
  readonly prefix: Uint8Array;
  private myKey: Uint8Array | undefined;
  private myRevision: bigint | undefined;
  private lastHeader: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    prefix: Bytes,
  ) {
    this.prefix = keyPrefix(prefix);
  }

  /** This session's key while it holds or waits for the lock. */
  get key(): Uint8Array | undefined {
    return this.myKey;
  }

  get keyText(): string | undefined {
    return this.myKey && toText(this.myKey);
  }

  /** The create revision of this session's key: the lock's fencing token. */
  get revision(): bigint | undefined {
    return this.myRevision;
  }

  /** The header of the response that acquired the lock. */
  get header(): ResponseHeader | undefined {
    return this.lastHeader;
  }

  /**
   * Waits until this session holds the lock. timeoutMs limits the whole wait (none by
   * default); if it passes, the signal fires or the session ends, the waiting key is deleted
   * and the call fails (ContextError, or ConcurrencyError "session-expired").
   */
  async lock(options: CallOptions = {}): Promise<void> {
    await whileSessionLives(this.session, options, async (signal) => {
      const { res, key, revision } = await this.acquire(signal);
      if (this.holds(res)) return;
      try {
        // Wait for every key created before ours, then check ours is still there: the
        // session may have expired while we waited.
        await waitDeletes(this.session.client, this.prefix, revision - 1n, signal);
        const own = await this.session.client.get(key, { signal });
        if (!own.first) {
          throw new ConcurrencyError(
            "session-expired",
            `lock ${toText(key)}: the key is gone; the session expired while waiting`,
          );
        }
        this.lastHeader = own.header;
      } catch (e) {
        await this.unlock().catch(() => {});
        throw e;
      }
    });
  }

  /**
   * Takes the lock if no other session holds it: true if this session holds it now, false
   * (having withdrawn its key) if another does.
   */
  async tryLock(options: CallOptions = {}): Promise<boolean> {
    return whileSessionLives(this.session, options, async (signal) => {
      const { res } = await this.acquire(signal);
      if (this.holds(res)) return true;
      await this.unlock({ signal });
      return false;
    });
  }

  /** Releases the lock (or gives up waiting): deletes this session's key. */
  async unlock(options: CallOptions = {}): Promise<void> {
    const key = this.myKey;
    if (!key) return;
    await this.session.client.delete(key, options);
    if (this.myKey === key) {
      this.myKey = undefined;
      this.myRevision = undefined;
    }
  }

  /** A txn condition that holds while this session holds the lock; use it to fence writes. */
  isOwner(): Comparison {
    if (!this.myKey || this.myRevision === undefined) {
      throw new InvalidInputError("mutex.isOwner(): the mutex is not locked", "mutex");
    }
    return compare.createRevision(this.myKey, "=", this.myRevision);
  }

  /** Go's tryAcquire: puts our key unless the session has it, and reads the holder. */
  private async acquire(
    signal: AbortSignal,
  ): Promise<{ res: TxnResult; key: Uint8Array; revision: bigint }> {
    const { client, lease } = this.session;
    const key = sessionKey(this.prefix, lease);
    const owner = op.get(this.prefix, firstCreate);
    const res = await putSessionKey(client, key, lease, this.myKey !== undefined, signal, () =>
      client
        .txn({ signal })
        .if(compare.createRevision(key, "=", 0))
        .then(op.put(key, "", { lease }), owner)
        .else(op.get(key), owner)
        .commit(),
    );
    const revision = res.succeeded
      ? res.header.revision
      : createRevisionOf(rangeOf(res.responses[0], "lock"), "lock");
    this.myKey = key;
    this.myRevision = revision;
    return { res, key, revision };
  }

  /** No key under the prefix, or the first one created is ours. */
  private holds(res: TxnResult): boolean {
    const holder = rangeOf(res.responses[1], "lock").first;
    if (holder && holder.createRevision !== this.myRevision) return false;
    this.lastHeader = res.header;
    return true;
  }
}
