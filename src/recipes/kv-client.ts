// What the recipes need of a client: KV, txn, watch and leases. EtcdClient is one, and so is a
// Namespace, so every recipe works the same on a namespaced view.
import type { Bytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import type {
  DeleteOptions,
  DeleteResult,
  GetResult,
  PutOptions,
  PutResult,
  RangeOptions,
} from "../v3/kv.js";
import type { LeaseApi } from "../v3/lease.js";
import type { Txn } from "../v3/txn.js";
import type { WatchOptions, WatchResponse, WatchState } from "../v3/watcher.js";

/** A running watch, as Watcher: iterate it once; cancel() ends it. */
export interface WatchHandle extends AsyncIterable<WatchResponse> {
  readonly state: WatchState;
  readonly revision: bigint;
  cancel(): void;
  onStateChange(listener: (s: WatchState) => void): () => void;
}

/** The lease calls of a client. */
export type LeaseClient = Pick<
  LeaseApi,
  "grant" | "revoke" | "timeToLive" | "leases" | "keepAliveOnce" | "keepAlive"
>;

/** The KV, txn, watch and lease calls of a client: an EtcdClient (Etcd) or a Namespace. */
export interface KvClient {
  get(key: Bytes, options?: RangeOptions & CallOptions): Promise<GetResult>;
  put(key: Bytes, value: Bytes, options?: PutOptions & CallOptions): Promise<PutResult>;
  delete(key: Bytes, options?: DeleteOptions & CallOptions): Promise<DeleteResult>;
  txn(options?: CallOptions): Txn;
  watch(key: Bytes, options?: WatchOptions): WatchHandle;
  readonly lease: LeaseClient;
}
