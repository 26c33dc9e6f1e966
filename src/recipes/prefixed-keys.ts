// The key arithmetic of a namespace, as Go's namespace package does it: every key and range
// end gets the prefix in front; every key in a response loses it.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  CompareSchema,
  RequestOpSchema,
  TxnRequestSchema,
} from "../gen/etcdserverpb/rpc_pb.js";
import type { KeyValue as KeyValuePb } from "../gen/mvccpb/kv_pb.js";
import { prefixEnd } from "../internal/bytes.js";
import { KeyValue } from "../v3/key-value.js";
import type { DeleteResult, GetResult, PutResult } from "../v3/kv.js";
import { Comparison, type OpResult, TxnOp, type TxnResult } from "../v3/txn.js";
import type { WatchResponse } from "../v3/watcher.js";

type RequestOpInit = MessageInitShape<typeof RequestOpSchema>;
type TxnRequestInit = MessageInitShape<typeof TxnRequestSchema>;
type CompareInit = MessageInitShape<typeof CompareSchema>;

export interface KeyRange {
  key: Uint8Array;
  /** Empty for one key; [0] for every key from key on. */
  rangeEnd: Uint8Array;
}

export class PrefixedKeys {
  constructor(readonly prefix: Uint8Array) {}

  key(key: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.prefix.length + key.length);
    out.set(this.prefix);
    out.set(key, this.prefix.length);
    return out;
  }

  /**
   * A range of the view as a range of the keyspace. A range open to the end ([0]: fromKey,
   * and the "every key" of an empty prefix) ends where the prefix ends.
   */
  range(r: KeyRange): KeyRange {
    if (r.rangeEnd.length === 1 && r.rangeEnd[0] === 0) {
      return { key: this.key(r.key), rangeEnd: prefixEnd(this.prefix) };
    }
    return {
      key: this.key(r.key),
      rangeEnd: r.rangeEnd.length === 0 ? r.rangeEnd : this.key(r.rangeEnd),
    };
  }

  /** The key starts with the prefix. */
  has(key: Uint8Array): boolean {
    const p = this.prefix;
    return key.length >= p.length && p.every((b, i) => key[i] === b);
  }

  /** The key with the prefix taken off; a key outside the prefix is left as it is. */
  strip(key: Uint8Array): Uint8Array {
    return this.has(key) ? key.slice(this.prefix.length) : key;
  }

  // ---- requests ----

  compare(c: Comparison): Comparison {
    if (!(c instanceof Comparison)) return c; // the client refuses it with its own error
    return new Comparison(this.compareMessage(c.message));
  }

  /** The operation under the prefix (nested txns too); its size grows by what the prefix adds. */
  op(o: TxnOp): TxnOp {
    if (!(o instanceof TxnOp)) return o;
    // Built here only to measure; the client builds the op again, with its own size limit.
    const grows = opKeyBytes(this.requestOp(o.build(Infinity))) - opKeyBytes(o.build(Infinity));
    return new TxnOp(o.kind, (max) => this.requestOp(o.build(max)), o.payloadBytes + grows);
  }

  private compareMessage(m: CompareInit): CompareInit {
    return { ...m, ...this.range(rangeOf(m)) };
  }

  private requestOp(m: RequestOpInit): RequestOpInit {
    const r = m.request;
    switch (r?.case) {
      case "requestRange":
        return {
          request: { case: r.case, value: { ...r.value, ...this.range(rangeOf(r.value)) } },
        };
      case "requestDeleteRange":
        return {
          request: { case: r.case, value: { ...r.value, ...this.range(rangeOf(r.value)) } },
        };
      case "requestPut":
        return {
          request: {
            case: r.case,
            value: { ...r.value, key: this.key(r.value.key ?? new Uint8Array()) },
          },
        };
      case "requestTxn":
        return { request: { case: r.case, value: this.txnRequest(r.value) } };
      default:
        return m;
    }
  }

  private txnRequest(t: TxnRequestInit): TxnRequestInit {
    return {
      compare: (t.compare ?? []).map((c) => this.compareMessage(c)),
      success: (t.success ?? []).map((o) => this.requestOp(o)),
      failure: (t.failure ?? []).map((o) => this.requestOp(o)),
    };
  }

  // ---- responses ----

  kv(kv: KeyValue): KeyValue {
    // Every field, as a decoded message has them (no create(): it would load the descriptors).
    const message: KeyValuePb = {
      $typeName: "mvccpb.KeyValue",
      key: this.strip(kv.key),
      value: kv.value,
      createRevision: kv.createRevision,
      modRevision: kv.modRevision,
      version: kv.version,
      lease: kv.lease,
    };
    return new KeyValue(message);
  }

  get(res: GetResult): GetResult {
    const kvs = res.kvs.map((kv) => this.kv(kv));
    return { ...res, kvs, first: kvs[0] };
  }

  put(res: PutResult): PutResult {
    return { ...res, prevKv: res.prevKv && this.kv(res.prevKv) };
  }

  delete(res: DeleteResult): DeleteResult {
    return { ...res, prevKvs: res.prevKvs.map((kv) => this.kv(kv)) };
  }

  txn(res: TxnResult): TxnResult {
    return { ...res, responses: res.responses.map((r) => this.opResult(r)) };
  }

  watchResponse(res: WatchResponse): WatchResponse {
    return {
      ...res,
      events: res.events.map((e) => ({
        type: e.type,
        kv: this.kv(e.kv),
        prevKv: e.prevKv && this.kv(e.prevKv),
      })),
    };
  }

  private opResult(r: OpResult): OpResult {
    switch (r.type) {
      case "get":
        return { ...this.get(r), type: "get" };
      case "put":
        return { ...this.put(r), type: "put" };
      case "delete":
        return { ...this.delete(r), type: "delete" };
      case "txn":
        return { ...this.txn(r), type: "txn" };
    }
  }
}

function rangeBytes(m: { key?: Uint8Array; rangeEnd?: Uint8Array }): number {
  return (m.key?.length ?? 0) + (m.rangeEnd?.length ?? 0);
}

/** Bytes of keys and range ends in an operation, nested ones included. */
function opKeyBytes(m: RequestOpInit): number {
  const r = m.request;
  switch (r?.case) {
    case "requestRange":
    case "requestDeleteRange":
    case "requestPut":
      return rangeBytes(r.value);
    case "requestTxn":
      return (
        (r.value.compare ?? []).reduce((n, c) => n + rangeBytes(c), 0) +
        [...(r.value.success ?? []), ...(r.value.failure ?? [])].reduce(
          (n, o) => n + opKeyBytes(o),
          0,
        )
      );
    default:
      return 0;
  }
}

function rangeOf(m: { key?: Uint8Array; rangeEnd?: Uint8Array }): KeyRange {
  return { key: m.key ?? new Uint8Array(), rangeEnd: m.rangeEnd ?? new Uint8Array() };
}
