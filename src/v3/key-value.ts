import { ResponseError } from "../errors/etcd-error.js";
import type { ResponseHeader as ResponseHeaderPb } from "../gen/etcdserverpb/rpc_pb.js";
import type { KeyValue as KeyValuePb } from "../gen/mvccpb/kv_pb.js";
import { hex, toText } from "../internal/bytes.js";

/** The header etcd puts on every response. */
export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  /** The store's revision when the request was applied. */
  revision: bigint;
  raftTerm: bigint;
}

/** A key and its value at some revision. Bytes stay bytes; text(), json() and hex() read them. */
export class KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly createRevision: bigint;
  readonly modRevision: bigint;
  readonly version: bigint;
  /** The lease ID the key is attached to; 0n for none. */
  readonly lease: bigint;

  constructor(kv: KeyValuePb) {
    this.key = kv.key;
    this.value = kv.value;
    this.createRevision = kv.createRevision;
    this.modRevision = kv.modRevision;
    this.version = kv.version;
    this.lease = kv.lease;
  }

  /** The key as UTF-8 text. */
  get keyText(): string {
    return toText(this.key);
  }

  /** The value as UTF-8 text. */
  text(): string {
    return toText(this.value);
  }

  /** The value parsed as JSON; throws SyntaxError when it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The value as lowercase hex. */
  hex(): string {
    return hex(this.value);
  }
}

/** etcd always sends a header; a response without one did not come from etcd. */
export function header(h: ResponseHeaderPb | undefined, what: string): ResponseHeader {
  if (!h) throw new ResponseError(`the ${what} response has no header`);
  return {
    clusterId: h.clusterId,
    memberId: h.memberId,
    revision: h.revision,
    raftTerm: h.raftTerm,
  };
}

/** For the few responses etcd 3.4 sends without a header (Defragment; Alarm on the gateway). */
export function optionalHeader(h: ResponseHeaderPb | undefined): ResponseHeader | undefined {
  return h && header(h, "");
}

export function keyValues(kvs: readonly KeyValuePb[]): KeyValue[] {
  return kvs.map((kv) => new KeyValue(kv));
}
