import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EtcdError, isEtcdError } from "./etcd-error.js";
import { codeName, etcdReason, GrpcError } from "./grpc-error.js";

describe("etcdReason", () => {
  // Messages as etcd sends them (api/v3rpc/rpctypes/error.go).
  it.each([
    ["etcdserver: mvcc: required revision has been compacted", "compacted"],
    ["etcdserver: mvcc: required revision is a future revision", "future-revision"],
    ["etcdserver: mvcc: database space exceeded", "no-space"],
    ["etcdserver: requested lease not found", "lease-not-found"],
    ["etcdserver: too large lease TTL", "lease-ttl-too-large"],
    ["etcdserver: key is not provided", "empty-key"],
    ["etcdserver: too many operations in txn request", "too-many-ops"],
    ["etcdserver: duplicate key given in txn request", "duplicate-key"],
    ["etcdserver: can only promote a learner member", "member-not-learner"],
    [
      "etcdserver: can only promote a learner member which is in sync with leader",
      "learner-not-ready",
    ],
    ["etcdserver: request is too large", "request-too-large"],
    ["etcdserver: authentication failed, invalid user ID or password", "auth-failed"],
    ["etcdserver: permission denied", "permission-denied"],
    ["etcdserver: invalid auth token", "invalid-auth-token"],
    ["etcdserver: no leader", "no-leader"],
    ["etcdserver: not leader", "not-leader"],
    ["etcdserver: leader changed", "leader-changed"],
    ["etcdserver: request timed out", "timeout"],
    [
      "etcdserver: request timed out, possibly due to previous leader failure",
      "timeout-due-to-leader-fail",
    ],
    ["etcdserver: unhealthy cluster", "unhealthy"],
    ["etcdserver: corrupt cluster", "corrupt"],
  ])("maps %j to %s", (message, reason) => {
    expect(etcdReason(message)).toBe(reason);
  });

  it("reads a message without the etcdserver: prefix, or with whitespace around it", () => {
    expect(etcdReason("requested lease not found")).toBe("lease-not-found");
    expect(etcdReason("  etcdserver: no leader\n")).toBe("no-leader");
  });

  it("matches whole messages only", () => {
    expect(etcdReason("etcdserver: no leader elected yet")).toBe("unknown");
    expect(etcdReason("proxy: etcdserver: no leader")).toBe("unknown");
    expect(etcdReason("ETCDSERVER: NO LEADER")).toBe("unknown");
  });

  it("gives unknown for messages that are not etcd's", () => {
    expect(etcdReason("upstream connect error or disconnect/reset before headers")).toBe("unknown");
    expect(etcdReason("")).toBe("unknown");
  });

  // Regression (a bug this spec found, now fixed): the table holds "cluster version is not available" and "wrong downgrade target
  // version", which etcd never sends; etcd's messages for these reasons are the two below,
  // so the reasons "cluster-version-unavailable" and "wrong-downgrade-version" never occur.
  it("maps etcd's downgrade messages to their reasons", () => {
    expect(etcdReason("etcdserver: cluster version not found during downgrade")).toBe(
      "cluster-version-unavailable",
    );
    expect(etcdReason("etcdserver: wrong downgrade target version format")).toBe(
      "wrong-downgrade-version",
    );
  });

  // Regression (a bug this spec found, now fixed): "watch-canceled" is an EtcdReason, but etcd's ErrGRPCWatchCanceled message
  // ("etcdserver: watch canceled", code Canceled) is missing from the table.
  it("maps etcd's watch-canceled status to its reason", () => {
    expect(etcdReason("etcdserver: watch canceled")).toBe("watch-canceled");
  });
});

describe("GrpcError", () => {
  it("carries the code, the message as sent, and the reason read from it", () => {
    const cause = new Error("transport");
    const e = new GrpcError(
      Code.OutOfRange,
      "etcdserver: mvcc: required revision has been compacted",
      {
        cause,
        endpoint: "http://a:2379",
      },
    );
    expect(e).toBeInstanceOf(EtcdError);
    expect(isEtcdError(e)).toBe(true);
    expect(e.kind).toBe("grpc");
    expect(e.name).toBe("GrpcError");
    expect(e.code).toBe(Code.OutOfRange);
    expect(e.codeName).toBe("out_of_range");
    expect(e.grpcMessage).toBe("etcdserver: mvcc: required revision has been compacted");
    expect(e.message).toBe("[out_of_range] etcdserver: mvcc: required revision has been compacted");
    expect(e.reason).toBe("compacted");
    expect(e.cause).toBe(cause);
    expect(e.endpoint).toBe("http://a:2379");
    expect(e.compactRevision).toBeUndefined();
  });

  it("takes an explicit reason and compactRevision over the message", () => {
    const e = new GrpcError(Code.Canceled, "the watch was canceled", {
      reason: "watch-canceled",
      compactRevision: 12n,
    });
    expect(e.reason).toBe("watch-canceled");
    expect(e.compactRevision).toBe(12n);
  });

  it("has reason unknown, no cause and no endpoint for a message that is not etcd's", () => {
    const e = new GrpcError(Code.Unavailable, "no healthy upstream");
    expect(e.reason).toBe("unknown");
    expect(e.cause).toBeUndefined();
    expect(e.endpoint).toBeUndefined();
  });
});

describe("codeName", () => {
  it("writes gRPC codes in snake case", () => {
    expect(codeName(Code.Unavailable)).toBe("unavailable");
    expect(codeName(Code.DeadlineExceeded)).toBe("deadline_exceeded");
    expect(codeName(Code.FailedPrecondition)).toBe("failed_precondition");
    expect(codeName(Code.Unauthenticated)).toBe("unauthenticated");
  });

  it("names a code it does not know by its number", () => {
    expect(codeName(99 as Code)).toBe("code 99");
  });
});
