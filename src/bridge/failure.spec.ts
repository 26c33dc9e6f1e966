import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ClusterError, ContextError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { failureLine, toStatus } from "./failure.js";

const idle = { signal: new AbortController().signal };
const a = "http://10.0.0.1:2379";
const b = "http://10.0.0.2:2379";

/** A status as etcd sent it. */
function fromWire(message: string, code: Code): ConnectError {
  const e = new ConnectError(message, code);
  e.isWireError = true;
  return e;
}
const refused = () => {
  const e = new ConnectError("connect ECONNREFUSED 10.0.0.1:2379", Code.Unavailable);
  return new GrpcError(e.code, e.rawMessage, { endpoint: a, cause: e });
};

describe("toStatus", () => {
  it("passes etcd's own status through, code, message and details", () => {
    const wire = fromWire("etcdserver: requested lease not found", Code.NotFound);
    wire.details = [{ type: "x.Detail", value: new Uint8Array([1]) }];
    const s = toStatus(new GrpcError(wire.code, wire.rawMessage, { cause: wire }), idle);
    expect(s).toMatchObject({
      code: Code.NotFound,
      rawMessage: "etcdserver: requested lease not found",
    });
    expect(s.details).toEqual(wire.details);
  });

  it("gives the members' answer when every member answered unavailable", () => {
    const noLeader = fromWire("etcdserver: no leader", Code.Unavailable);
    const failures = [a, b].map((endpoint) => ({
      endpoint,
      error: new GrpcError(noLeader.code, noLeader.rawMessage, { endpoint, cause: noLeader }),
    }));
    expect(toStatus(new ClusterError(failures), idle)).toMatchObject({
      code: Code.Unavailable,
      rawMessage: "etcdserver: no leader",
    });
  });

  it("says unavailable without addresses when no member could be reached", () => {
    const s = toStatus(new ClusterError([{ endpoint: a, error: refused() }]), idle);
    expect(s).toMatchObject({ code: Code.Unavailable });
    expect(s.rawMessage).not.toContain("10.0.0.1");
  });

  it("says when a call that was not repeated may have been applied", () => {
    const s = toStatus(
      new ClusterError([{ endpoint: a, error: refused() }], { maybeApplied: true }),
      idle,
    );
    expect(s).toMatchObject({ code: Code.Unavailable });
    expect(s.rawMessage).toContain("may have been applied");
  });

  it("turns a broken connection during a stream into unavailable", () => {
    const reset = new ConnectError(
      "http/2 stream closed with error code CANCEL (0x8)",
      Code.Canceled,
    );
    expect(toStatus(reset, idle)).toMatchObject({ code: Code.Unavailable });
  });

  it("maps the call's own signal to canceled or deadline_exceeded", () => {
    expect(toStatus(new ContextError("canceled"), idle).code).toBe(Code.Canceled);
    expect(toStatus(new ContextError("deadline-exceeded"), idle).code).toBe(Code.DeadlineExceeded);
    const router = new AbortController();
    router.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(toStatus(new ContextError("canceled"), router).code).toBe(Code.DeadlineExceeded);
  });
});

describe("failureLine", () => {
  it("names the method, code, duration and each endpoint tried, on one line", () => {
    const line = failureLine(
      "/etcdserverpb.KV/Range",
      new ConnectError("x", Code.Unavailable),
      12.4,
      new ClusterError([
        { endpoint: a, error: refused() },
        { endpoint: b, error: new Error("socket\nhang up") },
      ]),
      undefined,
    );
    expect(line).toBe(
      `etcd-web-bridge: /etcdserverpb.KV/Range failed: unavailable after 12 ms; ${a}: [unavailable] connect ECONNREFUSED 10.0.0.1:2379; ${b}: socket hang up`,
    );
  });
});
