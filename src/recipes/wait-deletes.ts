// Waiting in line without polling, as Go's concurrency package does: each waiter watches only
// the key just ahead of it (the newest one created before its own) until that key is deleted.
import { ContextError } from "../errors/etcd-error.js";
import { type Bytes, checkBytes, toBytes } from "../internal/bytes.js";
import type { ResponseHeader } from "../v3/key-value.js";
import type { RangeOptions } from "../v3/kv.js";
import type { KvClient } from "./kv-client.js";

/** Go's WithFirstCreate: the key of the prefix created first (the lock holder, the leader). */
export const firstCreate: RangeOptions = {
  prefix: true,
  sort: { target: "create", order: "ascend" },
  limit: 1,
};

/** Go's WithLastCreate. */
const lastCreate: RangeOptions = {
  prefix: true,
  sort: { target: "create", order: "descend" },
  limit: 1,
};

/** Go's key layout for locks and elections: prefix + "/", then the lease ID in lowercase hex. */
export function keyPrefix(prefix: Bytes): Uint8Array {
  const p = checkBytes(prefix, "prefix");
  const out = new Uint8Array(p.length + 1);
  out.set(p);
  out[p.length] = 0x2f; // "/"
  return out;
}

export function sessionKey(prefix: Uint8Array, lease: bigint): Uint8Array {
  const id = toBytes(lease.toString(16));
  const out = new Uint8Array(prefix.length + id.length);
  out.set(prefix);
  out.set(id, prefix.length);
  return out;
}

/**
 * Waits until no key under prefix has a create revision <= maxCreateRevision, watching each
 * time only the newest such key. Returns the header of the read that found none.
 */
export async function waitDeletes(
  client: KvClient,
  prefix: Uint8Array,
  maxCreateRevision: bigint,
  signal: AbortSignal,
): Promise<ResponseHeader> {
  for (;;) {
    const res = await client.get(prefix, {
      ...lastCreate,
      maxCreateRevision,
      signal,
    });
    if (!res.first) return res.header;
    await waitDelete(client, res.first.key, res.header.revision, signal);
  }
}

/** Waits for key to be deleted at or after revision. */
async function waitDelete(
  client: KvClient,
  key: Uint8Array,
  revision: bigint,
  signal: AbortSignal,
): Promise<void> {
  const watch = client.watch(key, { startRevision: revision, filters: { noPut: true }, signal });
  try {
    for await (const res of watch) {
      if (res.events.some((e) => e.type === "delete")) return;
    }
  } finally {
    watch.cancel();
  }
  signal.throwIfAborted();
  // A watch that neither failed nor was aborted here was canceled: the client was closed.
  throw new ContextError("canceled", { message: "the watch ended while waiting for a delete" });
}
