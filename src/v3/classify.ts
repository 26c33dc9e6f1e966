import { Code, ConnectError } from "@connectrpc/connect";
import type { AttemptVerdict } from "../endpoints/failover.js";
import { EtcdError, ResponseError } from "../errors/etcd-error.js";
import { type EtcdReason, GrpcError } from "../errors/grpc-error.js";
import { causes, neverSent } from "../internal/causes.js";

// etcd's answers that say "this member cannot serve now", where another member may.
// Rejected before the request was proposed, so it was not applied.
const memberUnavailable: ReadonlySet<EtcdReason> = new Set(["no-leader", "not-capable", "stopped"]);
// The request may have been proposed: another member may serve it, but a write must not repeat.
const memberUncertain: ReadonlySet<EtcdReason> = new Set([
  "leader-changed",
  "timeout",
  "timeout-due-to-leader-fail",
  "timeout-due-to-connection-lost",
  "timeout-wait-applied-index",
  // A watch stream the server ended: open another.
  "watch-canceled",
]);

/** Turns whatever a transport threw into one of etcd-web's errors. */
export function toEtcdError(e: unknown, endpoint: string): EtcdError {
  if (e instanceof EtcdError) return e;
  if (e instanceof ConnectError) {
    const response = findCause(e, (c): c is ResponseError => c instanceof ResponseError);
    if (response) return response;
    // An internal error that did not come over the wire was raised here, decoding what the
    // server sent (a body that is not protobuf, a broken frame): not an etcd status.
    // (A TLS handshake that failed is not a response: connect-node reports it as Internal.)
    if (e.code === Code.Internal && !e.isWireError && !neverSent(e)) {
      return new ResponseError(`the response from ${endpoint} could not be read: ${e.rawMessage}`, {
        cause: e,
        endpoint,
      });
    }
    return new GrpcError(e.code, e.rawMessage, { cause: e, endpoint });
  }
  const err = ConnectError.from(e);
  return new GrpcError(err.code, err.rawMessage, { cause: e, endpoint });
}

/** What a failed attempt means for failover (see endpoints/failover.ts). */
export function classifyV3(e: unknown, endpoint: string): AttemptVerdict {
  const error = toEtcdError(e, endpoint);
  if (error instanceof ResponseError) {
    // Something answered that is not etcd: a proxy's error page, a broken body.
    return { error, endpointFailed: true, maybeSent: true };
  }
  if (!(error instanceof GrpcError)) return { error, endpointFailed: false, maybeSent: true };
  if (memberUnavailable.has(error.reason)) return { error, endpointFailed: true, maybeSent: false };
  if (memberUncertain.has(error.reason)) return { error, endpointFailed: true, maybeSent: true };
  if (error.reason !== "unknown") return { error, endpointFailed: false, maybeSent: true };
  switch (error.code) {
    case Code.Unavailable:
    case Code.Unknown:
    case Code.Internal:
    case Code.Aborted:
    case Code.Canceled:
    case Code.DeadlineExceeded:
      return { error, endpointFailed: true, maybeSent: !neverSent(e) };
    default:
      return { error, endpointFailed: false, maybeSent: true };
  }
}

function findCause<T>(e: unknown, match: (c: unknown) => c is T): T | undefined {
  for (const c of causes(e)) if (match(c)) return c;
  return undefined;
}
