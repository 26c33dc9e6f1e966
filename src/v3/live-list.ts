// The list half of a live view: every key under a prefix, read in pages at one revision.
import type { Bytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import type { KeyValue } from "./key-value.js";
import { type GetResult, keyRange, type RangeOptions } from "./kv.js";

export interface Lister {
  get(key: Bytes, options: RangeOptions & CallOptions): Promise<GetResult>;
}

export interface Listing {
  kvs: KeyValue[];
  /** The revision every page was read at. */
  revision: bigint;
}

/**
 * Lists the keys under prefix in pages of pageSize, each page from the key after the last
 * one, every page after the first at the first page's revision: one consistent listing of a
 * prefix too large for one response. Linearizable reads (serializable off), so the listing
 * is never older than a write that finished before it began.
 */
export async function listPrefix(
  etcd: Lister,
  prefix: Bytes,
  pageSize: number,
  signal: AbortSignal,
): Promise<Listing> {
  const range = keyRange(prefix, { prefix: true }, "live");
  const kvs: KeyValue[] = [];
  let start = range.key;
  let revision = 0n;
  for (;;) {
    const page = await etcd.get(start, {
      rangeEnd: range.rangeEnd,
      limit: pageSize,
      revision,
      signal,
    });
    if (revision === 0n) revision = page.header.revision;
    kvs.push(...page.kvs);
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || !last) return { kvs, revision };
    start = successor(last.key);
  }
}

/** The smallest key after key: key + "\0". */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
