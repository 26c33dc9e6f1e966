import type { AttemptVerdict } from "../endpoints/failover.js";
import { ContextError, EtcdError, ResponseError } from "../errors/etcd-error.js";
import { causes, hasCauseCode, neverSent } from "../internal/causes.js";
import { V2Error } from "./v2-error.js";

/** What a failed attempt means for failover. */
export function classify(e: unknown, endpoint: string): AttemptVerdict {
  if (e instanceof V2Error || e instanceof ResponseError) {
    // As in Go's client, the status decides: a 5xx (etcd's 300 or 301, e.g. a request that
    // timed out in raft, or a proxy's 502) means this member cannot serve now, and the
    // request may have been proposed. Any other answer is the answer.
    return { error: e, endpointFailed: (e.status ?? 0) >= 500, maybeSent: true };
  }
  // Only a header timeout gets here: failover ends the call first when its own deadline fired.
  if (e instanceof ContextError) return { error: e, endpointFailed: true, maybeSent: true };
  if (e instanceof EtcdError) return { error: e, endpointFailed: false, maybeSent: true };
  return { error: networkError(e, endpoint), endpointFailed: true, maybeSent: !neverSent(e) };
}

export function isBodyTimeout(e: unknown): boolean {
  return hasCauseCode(e, "UND_ERR_BODY_TIMEOUT");
}

/** fetch's "fetch failed", with the reason from its cause chain. */
function networkError(e: unknown, endpoint: string): Error {
  const messages = causes(e)
    .map((c) => (c instanceof Error ? c.message : ""))
    .filter((m) => m !== "");
  const message = [...new Set(messages)].join(": ") || String(e);
  return new Error(`${endpoint}: ${message}`, { cause: e });
}
