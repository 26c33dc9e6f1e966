import { Code } from "@connectrpc/connect";
import { EtcdError } from "./etcd-error.js";

/**
 * etcd's reason for a failed call, a stable name for the message etcd sends with the status.
 * The same failure gives the same reason on every protocol.
 */
export type EtcdReason =
  | "compacted"
  | "future-revision"
  | "no-space"
  | "lease-not-found"
  | "lease-exists"
  | "lease-ttl-too-large"
  | "key-not-found"
  | "empty-key"
  | "value-provided"
  | "lease-provided"
  | "too-many-ops"
  | "duplicate-key"
  | "member-exists"
  | "peer-url-exists"
  | "member-not-enough-started"
  | "member-bad-urls"
  | "member-not-found"
  | "member-not-learner"
  | "learner-not-ready"
  | "too-many-learners"
  | "request-too-large"
  | "too-many-requests"
  | "root-user-not-exist"
  | "root-role-not-exist"
  | "user-already-exist"
  | "user-empty"
  | "user-not-found"
  | "role-already-exist"
  | "role-not-found"
  | "role-empty"
  | "auth-failed"
  | "permission-not-given"
  | "permission-denied"
  | "role-not-granted"
  | "permission-not-granted"
  | "auth-not-enabled"
  | "invalid-auth-token"
  | "invalid-auth-mgmt"
  | "auth-old-revision"
  | "no-leader"
  | "not-leader"
  | "leader-changed"
  | "not-capable"
  | "stopped"
  | "timeout"
  | "timeout-due-to-leader-fail"
  | "timeout-due-to-connection-lost"
  | "timeout-wait-applied-index"
  | "unhealthy"
  | "corrupt"
  | "bad-leader-transferee"
  | "cluster-version-unavailable"
  | "wrong-downgrade-version"
  | "watch-canceled"
  | "unknown";

// etcd's messages (etcdserver/api/v3rpc/rpctypes), without the "etcdserver: " prefix.
const reasons: ReadonlyArray<[string, EtcdReason]> = [
  ["mvcc: required revision has been compacted", "compacted"],
  ["mvcc: required revision is a future revision", "future-revision"],
  ["mvcc: database space exceeded", "no-space"],
  ["requested lease not found", "lease-not-found"],
  ["lease already exists", "lease-exists"],
  ["too large lease TTL", "lease-ttl-too-large"],
  ["key not found", "key-not-found"],
  ["key is not provided", "empty-key"],
  ["value is provided", "value-provided"],
  ["lease is provided", "lease-provided"],
  ["too many operations in txn request", "too-many-ops"],
  ["duplicate key given in txn request", "duplicate-key"],
  ["member ID already exist", "member-exists"],
  ["Peer URLs already exists", "peer-url-exists"],
  ["re-configuration failed due to not enough started members", "member-not-enough-started"],
  ["given member URLs are invalid", "member-bad-urls"],
  ["member not found", "member-not-found"],
  ["can only promote a learner member", "member-not-learner"],
  ["can only promote a learner member which is in sync with leader", "learner-not-ready"],
  ["too many learner members in cluster", "too-many-learners"],
  ["request is too large", "request-too-large"],
  ["too many requests", "too-many-requests"],
  ["root user does not exist", "root-user-not-exist"],
  ["root user does not have root role", "root-role-not-exist"],
  ["user name already exists", "user-already-exist"],
  ["user name is empty", "user-empty"],
  ["user name not found", "user-not-found"],
  ["role name already exists", "role-already-exist"],
  ["role name not found", "role-not-found"],
  ["role name is empty", "role-empty"],
  ["authentication failed, invalid user ID or password", "auth-failed"],
  ["permission not given", "permission-not-given"],
  ["permission denied", "permission-denied"],
  ["role is not granted to the user", "role-not-granted"],
  ["permission is not granted to the role", "permission-not-granted"],
  ["authentication is not enabled", "auth-not-enabled"],
  ["invalid auth token", "invalid-auth-token"],
  ["invalid auth management", "invalid-auth-mgmt"],
  ["revision of auth store is old", "auth-old-revision"],
  ["no leader", "no-leader"],
  ["not leader", "not-leader"],
  ["leader changed", "leader-changed"],
  ["not capable", "not-capable"],
  ["server stopped", "stopped"],
  ["request timed out", "timeout"],
  ["request timed out, possibly due to previous leader failure", "timeout-due-to-leader-fail"],
  ["request timed out, possibly due to connection lost", "timeout-due-to-connection-lost"],
  ["request timed out, waiting for the applied index took too long", "timeout-wait-applied-index"],
  ["unhealthy cluster", "unhealthy"],
  ["corrupt cluster", "corrupt"],
  ["bad leader transferee", "bad-leader-transferee"],
  ["cluster version not found during downgrade", "cluster-version-unavailable"],
  ["wrong downgrade target version format", "wrong-downgrade-version"],
  ["watch canceled", "watch-canceled"],
];
const byMessage = new Map(reasons);

/** etcd's reason for a status message, or "unknown" when etcd did not send one of its own. */
export function etcdReason(message: string): EtcdReason {
  const trimmed = message.trim();
  const bare = trimmed.startsWith("etcdserver: ") ? trimmed.slice("etcdserver: ".length) : trimmed;
  return byMessage.get(bare) ?? "unknown";
}

/** A gRPC status from etcd (or from a proxy in front of it), with etcd's reason as a field. */
export class GrpcError extends EtcdError {
  readonly kind = "grpc";
  override readonly name = "GrpcError";
  /** The gRPC status code (the same numbers as @connectrpc/connect's Code). */
  readonly code: Code;
  /** etcd's reason; "unknown" when the message was not one of etcd's. */
  readonly reason: EtcdReason;
  /** The status message exactly as the server sent it. */
  readonly grpcMessage: string;
  /** For reason "compacted" on a watch: the revision the store was compacted at. */
  readonly compactRevision: bigint | undefined;

  constructor(
    code: Code,
    grpcMessage: string,
    options: {
      cause?: unknown;
      endpoint?: string | undefined;
      reason?: EtcdReason;
      compactRevision?: bigint;
    } = {},
  ) {
    super(`[${codeName(code)}] ${grpcMessage}`, options);
    this.code = code;
    this.grpcMessage = grpcMessage;
    this.reason = options.reason ?? etcdReason(grpcMessage);
    this.compactRevision = options.compactRevision;
  }

  get codeName(): string {
    return codeName(this.code);
  }
}

export function codeName(code: Code): string {
  return (Code[code] ?? `code ${code}`).replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
