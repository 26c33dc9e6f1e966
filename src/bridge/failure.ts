import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ClusterError, ContextError } from "../errors/etcd-error.js";
import { codeName, GrpcError } from "../errors/grpc-error.js";

// What a failed call becomes: a status for the browser, and one line for the log.

/** The status the browser gets. Endpoint addresses and node errors stay in the log. */
export function toStatus(e: unknown, ctx: Pick<HandlerContext, "signal">): ConnectError {
  if (e instanceof ContextError) {
    // The router's own timer for grpc-timeout may fire before ours.
    const routerReason = ctx.signal.reason;
    if (routerReason instanceof ConnectError && routerReason.code === Code.DeadlineExceeded) {
      return routerReason;
    }
    return e.reason === "deadline-exceeded"
      ? new ConnectError("etcd-web-bridge: the call's deadline passed", Code.DeadlineExceeded)
      : new ConnectError("etcd-web-bridge: the call was canceled", Code.Canceled);
  }
  if (e instanceof ClusterError) {
    // When the members answered (with "no leader", "unimplemented", ...), the caller gets that
    // answer; when none could be reached, a status without internal addresses.
    const last = e.errors[e.errors.length - 1]?.error;
    if (last instanceof GrpcError && ConnectError.from(last.cause).isWireError) {
      return fromEtcd(last.cause);
    }
    return e.maybeApplied
      ? new ConnectError(
          "etcd-web-bridge: lost etcd after sending the call; it may have been applied",
          Code.Unavailable,
        )
      : new ConnectError("etcd-web-bridge: no etcd endpoint is available", Code.Unavailable);
  }
  if (e instanceof GrpcError) return fromEtcd(e.cause);
  if (e instanceof ConnectError) return fromEtcd(e);
  return new ConnectError("etcd-web-bridge: internal error", Code.Internal);
}

/** etcd's status, as etcd sent it; a broken connection becomes unavailable. */
function fromEtcd(cause: unknown): ConnectError {
  const ce = ConnectError.from(cause);
  if (!ce.isWireError) {
    return new ConnectError("etcd-web-bridge: lost the connection to etcd", Code.Unavailable);
  }
  const out = new ConnectError(ce.rawMessage, ce.code);
  out.details = ce.details;
  return out;
}

/**
 * method, code, duration, endpoint and the error messages: etcd's messages and node's network
 * errors, which carry no keys or values. Headers and messages of the call are never logged.
 */
export function failureLine(
  path: string,
  status: ConnectError,
  ms: number,
  e: unknown,
  endpoint: string | undefined,
): string {
  const at = endpoint ?? (e instanceof GrpcError ? e.endpoint : undefined) ?? "-";
  const detail =
    e instanceof ClusterError
      ? e.errors.map((f) => `${f.endpoint}: ${oneLine(f.error.message)}`).join("; ")
      : `${at}: ${oneLine(e instanceof Error ? e.message : String(e))}`;
  return `etcd-web-bridge: ${path} failed: ${codeName(status.code)} after ${Math.round(ms)} ms; ${detail}`;
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").slice(0, 300);
}
