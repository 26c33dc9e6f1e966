// Leader election with the key layout and transactions of Go's concurrency.Election, so that
// JavaScript, Go and `etcdctl elect` processes can campaign in, and observe, one election.
import { InvalidInputError } from "../errors/etcd-error.js";
import { type Bytes, checkBytes, toText } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import type { KeyValue, ResponseHeader } from "../v3/key-value.js";
import { type Comparison, compare, op } from "../v3/txn.js";
import { ConcurrencyError } from "./concurrency-error.js";
import type { KvClient } from "./kv-client.js";
import { createRevisionOf, putSessionKey, rangeOf, whileSessionLives } from "./recipe-call.js";
import { Session } from "./session.js";
import { firstCreate, keyPrefix, sessionKey, waitDeletes } from "./wait-deletes.js";

/** The leader: its key (prefix + "/" + lease hex), its value, and the response it came in. */
export interface ElectionLeader {
  kv: KeyValue;
  header: ResponseHeader;
}

/**
 * An election named by a key prefix. Each candidate puts prefix + "/" + its lease ID in hex,
 * with its value, on its session's lease; the key created first is the leader, and its value
 * is what the leader proclaims. Campaigns wait in line as locks do, watching only the key
 * created just before their own.
 *
 * Made with a Session, it can campaign, proclaim and resign; made with a client (or
 * namespace) alone, it can only read and observe the leader, with no lease of its own.
 */
export class Election {
  /** prefix + "/": every candidate's key lies under it. */
  readonly prefix: Uint8Array;
  readonly session: Session | undefined;
  private readonly client: KvClient;
  private leaderKey: Uint8Array | undefined;
  private leaderRevision: bigint | undefined;
  private lastHeader: ResponseHeader | undefined;

  constructor(owner: Session | KvClient, prefix: Bytes) {
    this.prefix = keyPrefix(prefix);
    this.session = owner instanceof Session ? owner : undefined;
    this.client = owner instanceof Session ? owner.client : owner;
  }

  /** This session's key while it campaigns or leads. */
  get key(): Uint8Array | undefined {
    return this.leaderKey;
  }

  get keyText(): string | undefined {
    return this.leaderKey && toText(this.leaderKey);
  }

  /** The create revision of this session's key: the term's fencing token. */
  get revision(): bigint | undefined {
    return this.leaderRevision;
  }

  /** The header of the last successful campaign, proclaim or resign. */
  get header(): ResponseHeader | undefined {
    return this.lastHeader;
  }

  /**
   * Enters the election with value and waits until elected. A session that already
   * campaigns takes its place back (and its value is proclaimed). timeoutMs limits the whole
   * wait (none by default); if it passes, the signal fires or the session ends, the campaign
   * is withdrawn and the call fails.
   */
  async campaign(value: Bytes, options: CallOptions = {}): Promise<void> {
    const session = this.requireSession("campaign");
    const v = checkBytes(value, "value");
    await whileSessionLives(session, options, async (signal) => {
      const key = sessionKey(this.prefix, session.lease);
      const held = this.leaderKey !== undefined;
      const res = await putSessionKey(this.client, key, session.lease, held, signal, () =>
        this.client
          .txn({ signal })
          .if(compare.createRevision(key, "=", 0))
          .then(op.put(key, v, { lease: session.lease }))
          .else(op.get(key))
          .commit(),
      );
      const own = res.succeeded ? undefined : rangeOf(res.responses[0], "campaign");
      const revision = own ? createRevisionOf(own, "campaign") : res.header.revision;
      this.leaderKey = key;
      this.leaderRevision = revision;
      try {
        if (own?.first && !sameBytes(own.first.value, v)) await this.proclaim(v, { signal });
        await waitDeletes(this.client, this.prefix, revision - 1n, signal);
        const now = await this.client.get(key, { signal });
        if (now.first?.createRevision !== revision) {
          throw new ConcurrencyError(
            "session-expired",
            `campaign ${toText(key)}: the key is gone; the session expired while waiting`,
          );
        }
      } catch (e) {
        await this.resign().catch(() => {});
        throw e;
      }
      this.lastHeader = res.header;
    });
  }

  /**
   * Lets the leader announce a new value without a new election. Fails with
   * ConcurrencyError "not-leader" without a campaign, or when the key has been lost.
   */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const session = this.requireSession("proclaim");
    const key = this.leaderKey;
    const revision = this.leaderRevision;
    if (!key || revision === undefined) {
      throw new ConcurrencyError("not-leader", "proclaim: this session is not campaigning");
    }
    const res = await this.client
      .txn(options)
      .if(compare.createRevision(key, "=", revision))
      .then(op.put(key, value, { lease: session.lease }))
      .commit();
    if (!res.succeeded) {
      this.forget(key);
      throw new ConcurrencyError("not-leader", `proclaim: the leader key ${toText(key)} is gone`);
    }
    this.lastHeader = res.header;
  }

  /** Leaves the election (as leader or candidate), so that the next candidate is elected. */
  async resign(options: CallOptions = {}): Promise<void> {
    const key = this.leaderKey;
    const revision = this.leaderRevision;
    if (!key || revision === undefined) return;
    try {
      const res = await this.client
        .txn(options)
        .if(compare.createRevision(key, "=", revision))
        .then(op.delete(key))
        .commit();
      this.lastHeader = res.header;
    } finally {
      this.forget(key);
    }
  }

  /** The current leader, or undefined when no one is elected. */
  async leader(options: CallOptions = {}): Promise<ElectionLeader | undefined> {
    const res = await this.client.get(this.prefix, { ...firstCreate, ...options });
    return res.first && { kv: res.first, header: res.header };
  }

  /**
   * The leader, then every change: each newly elected leader and each value it proclaims,
   * in order. It may skip leaders that came and went in between, never the latest. It ends
   * when the signal fires or the loop is left, and throws if the watch fails (compaction).
   */
  observe(
    options: { signal?: AbortSignal | undefined } = {},
  ): AsyncIterableIterator<ElectionLeader> {
    return this.observeLeaders(options.signal);
  }

  /** A txn condition that holds while this session's key is in the election (as leader once elected). */
  isLeader(): Comparison {
    if (!this.leaderKey || this.leaderRevision === undefined) {
      throw new InvalidInputError(
        "election.isLeader(): this session is not campaigning",
        "election",
      );
    }
    return compare.createRevision(this.leaderKey, "=", this.leaderRevision);
  }

  private async *observeLeaders(signal: AbortSignal | undefined): AsyncGenerator<ElectionLeader> {
    try {
      for (;;) {
        const res = await this.client.get(this.prefix, { ...firstCreate, signal });
        const leader = res.first
          ? { kv: res.first, header: res.header }
          : await this.firstCandidate(res.header.revision, signal);
        if (!leader) return;
        yield leader;
        // Follow the leader's key: each put is a proclaimed value, a delete ends the term.
        const watch = this.client.watch(leader.kv.key, {
          startRevision: leader.header.revision + 1n,
          signal,
        });
        let ended = false;
        try {
          for await (const r of watch) {
            for (const e of r.events) {
              if (e.type === "delete") {
                ended = true;
                break;
              }
              yield { kv: e.kv, header: r.header };
            }
            if (ended) break;
          }
        } finally {
          watch.cancel();
        }
        if (!ended) return;
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
  }

  /** With no candidate at `revision`, waits for the first key put under the prefix. */
  private async firstCandidate(
    revision: bigint,
    signal: AbortSignal | undefined,
  ): Promise<ElectionLeader | undefined> {
    const watch = this.client.watch(this.prefix, {
      prefix: true,
      startRevision: revision,
      filters: { noDelete: true },
      signal,
    });
    try {
      for await (const r of watch) {
        const put = r.events.find((e) => e.type === "put");
        // The batch may hold later revisions; this leader is as of its own.
        if (put) return { kv: put.kv, header: { ...r.header, revision: put.kv.modRevision } };
      }
    } finally {
      watch.cancel();
    }
    return undefined;
  }

  private requireSession(what: string): Session {
    if (!this.session) {
      throw new InvalidInputError(
        `election.${what}(): this election was made without a session; make it with one to ${what}`,
        "session",
      );
    }
    return this.session;
  }

  private forget(key: Uint8Array): void {
    if (this.leaderKey !== key) return;
    this.leaderKey = undefined;
    this.leaderRevision = undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
