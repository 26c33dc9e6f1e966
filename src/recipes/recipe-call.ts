import { ResponseError } from "../errors/etcd-error.js";
import type { CallOptions } from "../internal/call-options.js";
import { withDeadline } from "../internal/deadline.js";
import type { GetResult } from "../v3/kv.js";
import { compare, type OpResult, op, type TxnResult } from "../v3/txn.js";
import type { KvClient } from "./kv-client.js";
import type { Session } from "./session.js";

/**
 * Runs a recipe call that may wait (lock, campaign) under the caller's signal and timeoutMs
 * and the session's life: the call's RPCs get one signal that fires on any of them. Without
 * timeoutMs the wait has no limit, while each RPC keeps the client's own limit. If the
 * session ends first, the call fails with the session's ConcurrencyError "session-expired".
 */
export async function whileSessionLives<T>(
  session: Session,
  options: CallOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  session.throwIfEnded();
  const signal = options.signal
    ? AbortSignal.any([options.signal, session.signal])
    : session.signal;
  try {
    return await withDeadline({ signal, timeoutMs: options.timeoutMs }, (d) => fn(d.signal));
  } catch (e) {
    if (!options.signal?.aborted && session.state !== "alive") session.throwIfEnded();
    throw e;
  }
}

/**
 * Commits the txn that puts a session's key in a queue (a lock, a campaign). When the call is
 * given up while the txn is in flight (its signal fired: an abort, a deadline, the session's
 * end), etcd may have applied it all the same, and the key would wait in the queue with no one
 * behind it until the lease expired. So the key goes again, if it is the session's, unless the
 * caller already held it before this call. Go's Mutex and Election leave it.
 */
export async function putSessionKey(
  client: KvClient,
  key: Uint8Array,
  lease: bigint,
  heldBefore: boolean,
  signal: AbortSignal,
  commit: () => Promise<TxnResult>,
): Promise<TxnResult> {
  try {
    return await commit();
  } catch (e) {
    if (signal.aborted && !heldBefore) {
      await client
        .txn()
        .if(compare.lease(key, "=", lease))
        .then(op.delete(key))
        .commit()
        .catch(() => {});
    }
    throw e;
  }
}

/** The result of a txn's get operation; etcd answers every get with a range response. */
export function rangeOf(r: OpResult | undefined, what: string): GetResult {
  if (r?.type !== "get") throw new ResponseError(`${what}: the txn answered without a range`);
  return r;
}

/** The key's create revision from a get that must have found it. */
export function createRevisionOf(res: GetResult, what: string): bigint {
  if (!res.first) throw new ResponseError(`${what}: the txn's get found no key`);
  return res.first.createRevision;
}
