// Software transactional memory over etcd, after Go's concurrency.NewSTM: apply() reads and
// writes through an Stm; its writes are committed in one txn guarded by what it read, and on
// a conflict apply() runs again, up to maxAttempts.
import { InvalidInputError } from "../errors/etcd-error.js";
import { type Bytes, checkBytes, hex, toText } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import { withDeadline } from "../internal/deadline.js";
import type { GetResult, PutOptions, RangeOptions } from "../v3/kv.js";
import { type Comparison, compare, op, type TxnOp, type TxnResult } from "../v3/txn.js";
import { ConcurrencyError } from "./concurrency-error.js";
import type { KvClient } from "./kv-client.js";
import { rangeOf } from "./recipe-call.js";

/**
 * The isolation levels of Go's STM, strongest first:
 * - "serializable-snapshot" (the default): reads see one snapshot, the revision of the first
 *   read; the commit fails if any key read, or any key written, changed after that snapshot.
 * - "serializable": reads see one snapshot; the commit fails if any key read changed.
 * - "repeatable-reads": each key is read once (from the member's local state) and the same
 *   value is seen after; the commit fails if any key read changed.
 * - "read-committed": reads see whatever was committed; the commit never conflicts.
 */
export type Isolation =
  | "serializable-snapshot"
  | "serializable"
  | "repeatable-reads"
  | "read-committed";

const isolations: readonly Isolation[] = [
  "serializable-snapshot",
  "serializable",
  "repeatable-reads",
  "read-committed",
];

export interface StmOptions extends CallOptions {
  /** Default "serializable-snapshot", as Go's. */
  isolation?: Isolation | undefined;
  /** How many times apply() may run before a ConcurrencyError "too-many-conflicts". Default 10. */
  maxAttempts?: number | undefined;
  /** Keys every attempt reads: fetched together in one round trip before apply() runs. */
  prefetch?: readonly Bytes[] | undefined;
}

/** What apply() reads and writes through. Writes are buffered until the commit. */
export interface Stm {
  /** The key's value as this transaction sees it (its own writes included); undefined if none. */
  get(key: Bytes): Promise<Uint8Array | undefined>;
  /** get() as UTF-8 text. */
  getText(key: Bytes): Promise<string | undefined>;
  /** The key's mod revision as read; 0n when it does not exist. */
  rev(key: Bytes): Promise<bigint>;
  put(key: Bytes, value: Bytes, options?: PutOptions): void;
  delete(key: Bytes): void;
}

export interface StmResult<T> {
  /** What apply() returned on the attempt that committed. */
  value: T;
  /** The committed txn. */
  txn: TxnResult;
  /** How many times apply() ran. */
  attempts: number;
}

/**
 * Runs apply() as a transaction. apply() may run more than once, so it must have no effects
 * other than through the Stm. An error thrown by apply() or by a read ends the run with that
 * error, and nothing is written. timeoutMs and signal cover every attempt.
 */
export async function runStm<T>(
  client: KvClient,
  apply: (stm: Stm) => Promise<T> | T,
  options: StmOptions = {},
): Promise<StmResult<T>> {
  const isolation = options.isolation ?? "serializable-snapshot";
  if (!isolations.includes(isolation)) {
    throw new InvalidInputError(
      `stm: isolation must be one of ${isolations.join(", ")}; got ${String(isolation)}`,
      "isolation",
    );
  }
  const maxAttempts = options.maxAttempts ?? 10;
  const wholeOrEndless = Number.isSafeInteger(maxAttempts) || maxAttempts === Infinity;
  if (!wholeOrEndless || maxAttempts < 1) {
    throw new InvalidInputError(
      `stm: maxAttempts must be a whole number > 0, got ${maxAttempts}`,
      "maxAttempts",
    );
  }
  const prefetch = (options.prefetch ?? []).map((k) => checkBytes(k, "prefetch"));
  return withDeadline(options, async (deadline) => {
    let carried = new Map<string, Read>();
    for (let attempt = 1; ; attempt++) {
      const stm = new StmAttempt(client, isolation, deadline.signal, carried);
      if (prefetch.length > 0) await stm.fetch(prefetch);
      const value = await apply(stm);
      const outcome = await stm.commit();
      if (outcome.committed) return { value, txn: outcome.txn, attempts: attempt };
      if (attempt >= maxAttempts) {
        throw new ConcurrencyError(
          "too-many-conflicts",
          `stm: the transaction conflicted on each of its ${attempt} attempt(s)`,
        );
      }
      carried = outcome.prefetched;
    }
  });
}

interface Read {
  key: Uint8Array;
  res: GetResult;
}

interface Write {
  key: Uint8Array;
  /** undefined for a delete. */
  value: Uint8Array | undefined;
  op: TxnOp;
}

type Outcome =
  | { committed: true; txn: TxnResult }
  | { committed: false; prefetched: Map<string, Read> };

/** One attempt: its read set, write set and snapshot revision. */
class StmAttempt implements Stm {
  private readonly reads = new Map<string, Read>();
  private readonly writes = new Map<string, Write>();
  /** The serializable levels read every key at the revision of the first read. */
  private snapshot: bigint | undefined;
  /** A failed read fails the attempt even if apply() caught the error. */
  private readError: unknown;

  constructor(
    private readonly client: KvClient,
    private readonly isolation: Isolation,
    private readonly signal: AbortSignal,
    /** The serializable levels' reads from the last conflict, to spare a round trip. */
    private readonly prefetched: Map<string, Read>,
  ) {}

  private get serializable(): boolean {
    return this.isolation === "serializable-snapshot" || this.isolation === "serializable";
  }

  async get(key: Bytes): Promise<Uint8Array | undefined> {
    const k = checkBytes(key, "key");
    const w = this.writes.get(hex(k));
    if (w) return w.value;
    return (await this.read(k)).first?.value;
  }

  async getText(key: Bytes): Promise<string | undefined> {
    const v = await this.get(key);
    return v && toText(v);
  }

  async rev(key: Bytes): Promise<bigint> {
    return (await this.read(checkBytes(key, "key"))).first?.modRevision ?? 0n;
  }

  put(key: Bytes, value: Bytes, options: PutOptions = {}): void {
    const k = checkBytes(key, "key");
    const v = checkBytes(value, "value");
    this.writes.set(hex(k), { key: k, value: v, op: op.put(k, v, options) });
  }

  delete(key: Bytes): void {
    const k = checkBytes(key, "key");
    this.writes.set(hex(k), { key: k, value: undefined, op: op.delete(k) });
  }

  /** Reads the keys not read yet, together, at one revision. */
  async fetch(keys: readonly Uint8Array[]): Promise<void> {
    const first = this.reads.size === 0;
    const missing: Uint8Array[] = [];
    for (const k of keys) {
      const id = hex(k);
      const pre = this.prefetched.get(id);
      if (pre) {
        this.prefetched.delete(id);
        this.reads.set(id, pre);
      } else if (!this.reads.has(id) && !missing.some((m) => hex(m) === id)) {
        missing.push(k);
      }
    }
    if (missing.length > 0) {
      try {
        const res = await this.client
          .txn({ signal: this.signal })
          .then(...missing.map((k) => op.get(k, this.readOptions())))
          .commit();
        missing.forEach((k, i) => {
          this.reads.set(hex(k), { key: k, res: rangeOf(res.responses[i], "stm read") });
        });
      } catch (e) {
        this.readError ??= e;
        throw e;
      }
    }
    // The serializable levels take their snapshot from the first read.
    const firstKey = keys[0];
    if (first && this.serializable && firstKey) {
      this.snapshot = this.reads.get(hex(firstKey))?.res.header.revision;
    }
  }

  async commit(): Promise<Outcome> {
    if (this.readError !== undefined) throw this.readError;
    const reads = [...this.reads.values()];
    const txn = this.client
      .txn({ signal: this.signal })
      .if(...this.conflicts(reads))
      .then(...[...this.writes.values()].map((w) => w.op));
    // On a conflict the serializable levels read their keys again in the same txn.
    if (this.serializable) txn.else(...reads.map((r) => op.get(r.key)));
    const res = await txn.commit();
    if (res.succeeded) return { committed: true, txn: res };
    const prefetched = new Map<string, Read>();
    if (this.serializable) {
      reads.forEach((r, i) => {
        prefetched.set(hex(r.key), { key: r.key, res: rangeOf(res.responses[i], "stm read") });
      });
    }
    return { committed: false, prefetched };
  }

  private async read(key: Uint8Array): Promise<GetResult> {
    const id = hex(key);
    const known = this.reads.get(id);
    if (known) return known.res;
    await this.fetch([key]);
    const read = this.reads.get(id);
    if (!read) throw new Error("stm: a fetched key is missing from the read set");
    return read.res;
  }

  private readOptions(): RangeOptions {
    if (this.isolation === "repeatable-reads" || this.isolation === "read-committed") {
      return { serializable: true };
    }
    return this.snapshot === undefined ? {} : { revision: this.snapshot, serializable: true };
  }

  /** The conditions under which the commit may apply, per isolation level. */
  private conflicts(reads: readonly Read[]): Comparison[] {
    if (this.isolation === "read-committed") return [];
    // Each key read is as it was read: same mod revision, or still absent.
    const unchanged = reads.map((r) =>
      compare.modRevision(r.key, "=", r.res.first?.modRevision ?? 0n),
    );
    if (this.isolation !== "serializable-snapshot") return unchanged;
    // And no key written changed after the snapshot (the earliest read).
    const snapshot = reads.reduce<bigint | undefined>(
      (min, r) => (min === undefined || r.res.header.revision < min ? r.res.header.revision : min),
      undefined,
    );
    if (snapshot === undefined) return unchanged;
    return [
      ...unchanged,
      ...[...this.writes.values()].map((w) => compare.modRevision(w.key, "<", snapshot + 1n)),
    ];
  }
}
