// KV requests and results: pure functions from the caller's options to etcd's messages and
// back, shared by the client's get/put/delete and by txn operations.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { InvalidInputError } from "../errors/etcd-error.js";
import type {
  CompactionRequestSchema,
  DeleteRangeRequestSchema,
  DeleteRangeResponse,
  PutRequestSchema,
  PutResponse,
  RangeRequestSchema,
  RangeResponse,
} from "../gen/etcdserverpb/rpc_pb.js";
import { RangeRequest_SortOrder, RangeRequest_SortTarget } from "../gen/etcdserverpb/rpc_ref.js";
import { type Bytes, checkBytes, prefixEnd } from "../internal/bytes.js";
import { header, KeyValue, keyValues, type ResponseHeader } from "./key-value.js";

/** etcd's default --max-request-bytes: 1.5 MiB. */
export const defaultMaxRequestBytes = 1.5 * 1024 * 1024;

/** Which keys a call covers: one key, a prefix, [key, rangeEnd), or every key from key on. */
export interface KeyRangeOptions {
  /** Every key that starts with the key given. An empty key with prefix means every key. */
  prefix?: boolean | undefined;
  /** The end of the range [key, rangeEnd), exclusive. */
  rangeEnd?: Bytes | undefined;
  /** Every key greater than or equal to the key given. */
  fromKey?: boolean | undefined;
}

export type SortTarget = "key" | "version" | "create" | "mod" | "value";
export type SortOrder = "ascend" | "descend";

export interface RangeOptions extends KeyRangeOptions {
  /** At most this many keys; 0 for no limit. */
  limit?: number | bigint | undefined;
  /** Read at this revision; 0 for the newest. */
  revision?: number | bigint | undefined;
  /** Answer from the member's local state, without a quorum read: faster, may be stale. */
  serializable?: boolean | undefined;
  keysOnly?: boolean | undefined;
  countOnly?: boolean | undefined;
  sort?: { target?: SortTarget | undefined; order?: SortOrder | undefined } | undefined;
  minModRevision?: number | bigint | undefined;
  maxModRevision?: number | bigint | undefined;
  minCreateRevision?: number | bigint | undefined;
  maxCreateRevision?: number | bigint | undefined;
}

export interface GetResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** More keys lie in the range than `limit` let through. */
  more: boolean;
  /** How many keys lie in the range. */
  count: bigint;
  /** The first key-value, or undefined when none matched. */
  first: KeyValue | undefined;
}

export interface PutOptions {
  /** Attach the key to this lease; 0 detaches it. */
  lease?: number | bigint | undefined;
  /** Return the key-value as it was before this put. */
  prevKv?: boolean | undefined;
  /** Keep the current value and change only the lease; pass an empty value. */
  ignoreValue?: boolean | undefined;
  /** Keep the current lease and change only the value. */
  ignoreLease?: boolean | undefined;
}

export interface PutResult {
  header: ResponseHeader;
  prevKv: KeyValue | undefined;
}

export interface DeleteOptions extends KeyRangeOptions {
  /** Return the deleted key-values. */
  prevKv?: boolean | undefined;
}

export interface DeleteResult {
  header: ResponseHeader;
  /** How many keys were deleted. */
  deleted: bigint;
  prevKvs: KeyValue[];
}

export interface CompactOptions {
  /** Wait until the compaction is physically applied to the backend. */
  physical?: boolean | undefined;
}

export interface CompactResult {
  header: ResponseHeader;
}

/** The key and range end for one call, checked. */
export function keyRange(
  key: Bytes,
  o: KeyRangeOptions,
  what: string,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  const k = checkBytes(key, "key");
  const given = [
    o.prefix && "prefix",
    o.rangeEnd !== undefined && "rangeEnd",
    o.fromKey && "fromKey",
  ];
  const set = given.filter(Boolean);
  if (set.length > 1) {
    throw new InvalidInputError(`${what}: give only one of ${set.join(", ")}`, String(set[1]));
  }
  if (o.prefix) {
    // etcd reads key "\0" with range end "\0" as "every key".
    return k.length === 0
      ? { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }
      : { key: k, rangeEnd: prefixEnd(k) };
  }
  if (k.length === 0) {
    throw new InvalidInputError(
      `${what}: the key is empty; etcd has no empty key (use prefix: true for every key)`,
      "key",
    );
  }
  if (o.fromKey) return { key: k, rangeEnd: new Uint8Array([0]) };
  if (o.rangeEnd !== undefined) return { key: k, rangeEnd: checkBytes(o.rangeEnd, "rangeEnd") };
  return { key: k, rangeEnd: new Uint8Array() };
}

/** A caller's count or revision as etcd's int64, checked to be a whole number >= 0. */
export function int64(v: number | bigint | undefined, field: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === "bigint") {
    if (v >= 0n && v < 2n ** 63n) return v;
  } else if (Number.isSafeInteger(v) && v >= 0) {
    return BigInt(v);
  }
  throw new InvalidInputError(`${field} must be a whole number >= 0, got ${String(v)}`, field);
}

/** A member ID: etcd's uint64. */
export function uint64(v: number | bigint | undefined, field: string): bigint {
  if (typeof v === "bigint" && v >= 0n && v < 2n ** 64n) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidInputError(`${field} must be a whole number >= 0, got ${String(v)}`, field);
}

const sortTargets: Record<SortTarget, RangeRequest_SortTarget> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};

export function rangeRequest(
  key: Bytes,
  o: RangeOptions = {},
): MessageInitShape<typeof RangeRequestSchema> {
  if (o.keysOnly && o.countOnly) {
    throw new InvalidInputError("get: give only one of keysOnly, countOnly", "countOnly");
  }
  const target = o.sort?.target ?? "key";
  if (!Object.hasOwn(sortTargets, target)) {
    throw new InvalidInputError(`get: unknown sort target "${target}"`, "sort.target");
  }
  const order = o.sort ? (o.sort.order ?? "ascend") : undefined;
  if (order !== undefined && order !== "ascend" && order !== "descend") {
    throw new InvalidInputError(`get: sort order must be "ascend" or "descend"`, "sort.order");
  }
  // No object spread here: V8 builds {...x, a, b, ...} property by property, which made this
  // function cost 8-20 µs per get (bench/RESULTS.md); named fields cost a fraction of one.
  const range = keyRange(key, o, "get");
  return {
    key: range.key,
    rangeEnd: range.rangeEnd,
    limit: int64(o.limit, "limit"),
    revision: int64(o.revision, "revision"),
    sortOrder:
      order === undefined
        ? RangeRequest_SortOrder.NONE
        : order === "ascend"
          ? RangeRequest_SortOrder.ASCEND
          : RangeRequest_SortOrder.DESCEND,
    sortTarget: sortTargets[target],
    serializable: o.serializable ?? false,
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    minModRevision: int64(o.minModRevision, "minModRevision"),
    maxModRevision: int64(o.maxModRevision, "maxModRevision"),
    minCreateRevision: int64(o.minCreateRevision, "minCreateRevision"),
    maxCreateRevision: int64(o.maxCreateRevision, "maxCreateRevision"),
  };
}

export function rangeResult(res: RangeResponse): GetResult {
  const kvs = keyValues(res.kvs);
  return {
    header: header(res.header, "range"),
    kvs,
    more: res.more,
    count: res.count,
    first: kvs[0],
  };
}

export function putRequest(
  key: Bytes,
  value: Bytes,
  o: PutOptions,
  maxRequestBytes: number,
): MessageInitShape<typeof PutRequestSchema> {
  const k = checkBytes(key, "key");
  if (k.length === 0) throw new InvalidInputError("put: the key is empty", "key");
  const v = checkBytes(value, "value");
  if (o.ignoreValue && v.length > 0) {
    throw new InvalidInputError("put: ignoreValue needs an empty value", "value");
  }
  if (o.ignoreLease && o.lease !== undefined && o.lease !== 0 && o.lease !== 0n) {
    throw new InvalidInputError("put: give only one of lease, ignoreLease", "lease");
  }
  checkSize(k.length + v.length, maxRequestBytes, "put");
  return {
    key: k,
    value: v,
    lease: int64(o.lease, "lease"),
    prevKv: o.prevKv ?? false,
    ignoreValue: o.ignoreValue ?? false,
    ignoreLease: o.ignoreLease ?? false,
  };
}

export function putResult(res: PutResponse): PutResult {
  return { header: header(res.header, "put"), prevKv: res.prevKv && new KeyValue(res.prevKv) };
}

export function deleteRequest(
  key: Bytes,
  o: DeleteOptions = {},
): MessageInitShape<typeof DeleteRangeRequestSchema> {
  const range = keyRange(key, o, "delete");
  return { key: range.key, rangeEnd: range.rangeEnd, prevKv: o.prevKv ?? false };
}

export function deleteResult(res: DeleteRangeResponse): DeleteResult {
  return {
    header: header(res.header, "delete"),
    deleted: res.deleted,
    prevKvs: keyValues(res.prevKvs),
  };
}

export function compactRequest(
  revision: number | bigint,
  o: CompactOptions = {},
): MessageInitShape<typeof CompactionRequestSchema> {
  const rev = int64(revision, "revision");
  if (rev === 0n) throw new InvalidInputError("compact: the revision must be > 0", "revision");
  return { revision: rev, physical: o.physical ?? false };
}

// Room for the rest of the request around key and value (field tags, lengths, raft header).
const requestOverheadBytes = 512;

/** Refuses, before sending, a request etcd would refuse as too large. */
export function checkSize(payloadBytes: number, maxRequestBytes: number, what: string): void {
  if (payloadBytes + requestOverheadBytes > maxRequestBytes) {
    throw new InvalidInputError(
      `${what}: ${payloadBytes} bytes of keys and values exceed etcd's request limit of ${maxRequestBytes} bytes (--max-request-bytes; set maxRequestBytes if the server allows more)`,
      "value",
    );
  }
}
