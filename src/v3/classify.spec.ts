import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ContextError, InvalidInputError, ResponseError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { classifyV3, toEtcdError } from "./classify.js";

const endpoint = "http://a:2379";
const status = (code: Code, message: string, cause?: unknown) =>
  new ConnectError(message, code, undefined, undefined, cause);
/** A socket error as Node reports it, with its code. */
const socketError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe("toEtcdError", () => {
  it("reads an internal error raised while decoding (not from the wire) as a ResponseError", () => {
    const local = status(Code.Internal, "parse binary: premature EOF");
    const read = toEtcdError(local, endpoint);
    expect(read).toBeInstanceOf(ResponseError);
    expect(read.message).toMatch(/could not be read: parse binary/);
    const wire = new ConnectError("etcdserver: corrupt", Code.Internal);
    Object.defineProperty(wire, "isWireError", { value: true });
    expect(toEtcdError(wire, endpoint)).toBeInstanceOf(GrpcError);
  });

  it("passes etcd-web's own errors through", () => {
    const e = new ContextError("canceled");
    expect(toEtcdError(e, endpoint)).toBe(e);
  });

  it("turns a status into a GrpcError with etcd's reason, the endpoint and the cause", () => {
    const cause = status(Code.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
    const e = toEtcdError(cause, endpoint);
    expect(e).toBeInstanceOf(GrpcError);
    expect(e).toMatchObject({
      code: Code.OutOfRange,
      reason: "compacted",
      grpcMessage: "etcdserver: mvcc: required revision has been compacted",
      endpoint,
      cause,
    });
  });

  it("returns the ResponseError a transport wrapped in a status", () => {
    const response = new ResponseError("text/html is not etcd", { status: 502 });
    const wrapped = status(Code.Unknown, "bad response", new Error("decode", { cause: response }));
    expect(toEtcdError(wrapped, endpoint)).toBe(response);
  });

  it("turns anything else into a GrpcError through ConnectError.from", () => {
    const e = toEtcdError(new TypeError("fetch failed"), endpoint);
    expect(e).toBeInstanceOf(GrpcError);
    expect(e).toMatchObject({ code: Code.Unknown, reason: "unknown", grpcMessage: "fetch failed" });
  });
});

describe("classifyV3: answers that are the caller's", () => {
  it.each([
    ["etcdserver: mvcc: required revision has been compacted", Code.OutOfRange],
    ["etcdserver: requested lease not found", Code.NotFound],
    ["etcdserver: permission denied", Code.PermissionDenied],
    ["etcdserver: unhealthy cluster", Code.Unavailable],
    ["etcdserver: not leader", Code.FailedPrecondition],
  ])("%s: the endpoint is fine", (message, code) => {
    const v = classifyV3(status(code, message), endpoint);
    expect(v.endpointFailed).toBe(false);
    expect(v.error).toBeInstanceOf(GrpcError);
    expect((v.error as GrpcError).grpcMessage).toBe(message);
  });

  it("an unknown status of a code that is not about the endpoint", () => {
    const v = classifyV3(status(Code.InvalidArgument, "bad field"), endpoint);
    expect(v.endpointFailed).toBe(false);
  });

  it("etcd-web's own errors other than ResponseError", () => {
    for (const e of [new ContextError("deadline-exceeded"), new InvalidInputError("x", "key")]) {
      expect(classifyV3(e, endpoint)).toEqual({ error: e, endpointFailed: false, maybeSent: true });
    }
  });
});

describe("classifyV3: endpoint failures", () => {
  it.each(["etcdserver: no leader", "etcdserver: not capable", "etcdserver: server stopped"])(
    "%s: refused before it was proposed, so not sent",
    (message) => {
      const v = classifyV3(status(Code.Unavailable, message), endpoint);
      expect(v).toMatchObject({ endpointFailed: true, maybeSent: false });
    },
  );

  it.each([
    "etcdserver: leader changed",
    "etcdserver: request timed out",
    "etcdserver: request timed out, possibly due to previous leader failure",
    "etcdserver: request timed out, possibly due to connection lost",
    "etcdserver: request timed out, waiting for the applied index took too long",
  ])("%s: may have been proposed", (message) => {
    const v = classifyV3(status(Code.Unavailable, message), endpoint);
    expect(v).toMatchObject({ endpointFailed: true, maybeSent: true });
  });

  it.each([
    Code.Unavailable,
    Code.Unknown,
    Code.Internal,
    Code.Aborted,
    Code.Canceled,
    Code.DeadlineExceeded,
  ])("a status of code %s that is not etcd's: the request may have been sent", (code) => {
    const v = classifyV3(status(code, "upstream reset"), endpoint);
    expect(v).toMatchObject({ endpointFailed: true, maybeSent: true });
  });

  it("unimplemented is the server's answer (e.g. AuthStatus on etcd 3.4), not a failed member", () => {
    const v = classifyV3(status(Code.Unimplemented, "unknown method AuthStatus"), endpoint);
    expect(v).toMatchObject({ endpointFailed: false });
  });

  it.each(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"])(
    "a connection that was never made (%s): not sent",
    (code) => {
      const e = status(Code.Unavailable, "connect failed", socketError(code));
      expect(classifyV3(e, endpoint)).toMatchObject({ endpointFailed: true, maybeSent: false });
    },
  );

  it("a connection reset after it was made: maybe sent", () => {
    const e = status(Code.Unavailable, "socket hang up", socketError("ECONNRESET"));
    expect(classifyV3(e, endpoint)).toMatchObject({ endpointFailed: true, maybeSent: true });
  });

  it("a response that is not etcd's, as from a proxy", () => {
    const response = new ResponseError("502 Bad Gateway", { status: 502 });
    const v = classifyV3(status(Code.Unavailable, "502", response), endpoint);
    expect(v).toEqual({ error: response, endpointFailed: true, maybeSent: true });
  });

  it("a fetch that failed outright", () => {
    const v = classifyV3(
      new TypeError("fetch failed", { cause: socketError("ECONNREFUSED") }),
      endpoint,
    );
    expect(v).toMatchObject({ endpointFailed: true, maybeSent: false });
    expect(v.error).toBeInstanceOf(GrpcError);
  });
});
