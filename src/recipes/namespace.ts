// A view of a client in which every key lies under a prefix, as Go's namespace package:
// requests get the prefix, responses lose it. Recipes made on a Namespace stay inside it.
import { InvalidInputError } from "../errors/etcd-error.js";
import { type Bytes, checkBytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import {
  type DeleteOptions,
  type DeleteResult,
  type GetResult,
  type KeyRangeOptions,
  keyRange,
  type PutOptions,
  type PutResult,
  type RangeOptions,
} from "../v3/kv.js";
import type { LeaseTimeToLive } from "../v3/lease.js";
import { Txn } from "../v3/txn.js";
import type { WatchOptions, WatchResponse, WatchState } from "../v3/watcher.js";
import type { KvClient, LeaseClient, WatchHandle } from "./kv-client.js";
import { type KeyRange, PrefixedKeys } from "./prefixed-keys.js";

/**
 * The client seen through a prefix: `new Namespace(etcd, "app/")` reads and writes "app/x"
 * as "x". Keys, range ends (prefix, fromKey and the "every key" of an empty prefix stay
 * inside the prefix), txn comparisons and operations (nested ones too) and watches get the
 * prefix; keys in results and watch events lose it. Leases are not keyed and are shared with
 * the client, but timeToLive lists only the keys inside the prefix. Namespaces nest.
 */
export class Namespace implements KvClient {
  readonly prefix: Uint8Array;
  readonly lease: LeaseClient;
  private readonly keys: PrefixedKeys;

  constructor(
    readonly client: KvClient,
    prefix: Bytes,
  ) {
    this.prefix = checkBytes(prefix, "prefix");
    if (this.prefix.length === 0) {
      throw new InvalidInputError("namespace: the prefix is empty", "prefix");
    }
    this.keys = new PrefixedKeys(this.prefix);
    this.lease = namespacedLease(client.lease, this.keys);
  }

  async get(key: Bytes, options: RangeOptions & CallOptions = {}): Promise<GetResult> {
    const r = this.keys.range(keyRange(key, options, "get"));
    return this.keys.get(await this.client.get(r.key, { ...options, ...asRangeEnd(r) }));
  }

  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    const k = checkBytes(key, "key");
    if (k.length === 0) throw new InvalidInputError("put: the key is empty", "key");
    return this.keys.put(await this.client.put(this.keys.key(k), value, options));
  }

  async delete(key: Bytes, options: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    const r = this.keys.range(keyRange(key, options, "delete"));
    return this.keys.delete(await this.client.delete(r.key, { ...options, ...asRangeEnd(r) }));
  }

  /** A transaction in the namespace; build it with the usual compare.* and op.*. */
  txn(options: CallOptions = {}): Txn {
    return new Txn(async ({ ifs, thens, elses }) => {
      const res = await this.client
        .txn(options)
        .if(...ifs.map((c) => this.keys.compare(c)))
        .then(...thens.map((o) => this.keys.op(o)))
        .else(...elses.map((o) => this.keys.op(o)))
        .commit();
      return this.keys.txn(res);
    });
  }

  /** Watches a key or range of the namespace; events carry keys without the prefix. */
  watch(key: Bytes, options: WatchOptions = {}): WatchHandle {
    const r = this.keys.range(keyRange(key, options, "watch"));
    return new NamespacedWatch(
      this.client.watch(r.key, { ...options, ...asRangeEnd(r) }),
      this.keys,
    );
  }
}

/** A range of the keyspace as the client's options. */
function asRangeEnd(r: KeyRange): Required<KeyRangeOptions> {
  return {
    prefix: undefined,
    fromKey: undefined,
    rangeEnd: r.rangeEnd.length === 0 ? undefined : r.rangeEnd,
  };
}

function namespacedLease(lease: LeaseClient, keys: PrefixedKeys): LeaseClient {
  return {
    grant: (ttl, options) => lease.grant(ttl, options),
    revoke: (id, options) => lease.revoke(id, options),
    leases: (options) => lease.leases(options),
    keepAliveOnce: (id, options) => lease.keepAliveOnce(id, options),
    keepAlive: (id, options) => lease.keepAlive(id, options),
    timeToLive: async (id, options): Promise<LeaseTimeToLive> => {
      const res = await lease.timeToLive(id, options);
      return { ...res, keys: res.keys.filter((k) => keys.has(k)).map((k) => keys.strip(k)) };
    },
  };
}

/** A watch of the client whose responses lose the prefix. */
class NamespacedWatch implements WatchHandle {
  constructor(
    private readonly inner: WatchHandle,
    private readonly keys: PrefixedKeys,
  ) {}

  get state(): WatchState {
    return this.inner.state;
  }

  get revision(): bigint {
    return this.inner.revision;
  }

  cancel(): void {
    this.inner.cancel();
  }

  onStateChange(listener: (s: WatchState) => void): () => void {
    return this.inner.onStateChange(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    const it = this.inner[Symbol.asyncIterator]();
    const keys = this.keys;
    return {
      async next() {
        const r = await it.next();
        return r.done ? r : { done: false, value: keys.watchResponse(r.value) };
      },
      async return() {
        return (await it.return?.()) ?? { done: true, value: undefined };
      },
    };
  }
}
