import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResponseError } from "../../errors/etcd-error.js";
import { gatewayStatus, notEtcd, statusError, unavailable } from "./error-mapping.js";

const compacted = "etcdserver: mvcc: required revision has been compacted";

describe("gatewayStatus", () => {
  it.each([
    ["unary, grpc-gateway v1", { error: compacted, code: 11, message: compacted }],
    ["unary, grpc-gateway v2", { code: 11, message: compacted, details: [] }],
    [
      "stream, grpc-gateway v1",
      { error: { grpc_code: 11, http_code: 400, message: compacted, http_status: "Bad Request" } },
    ],
    ["stream, grpc-gateway v2", { error: { code: 11, message: compacted, details: [] } }],
    ["unary v1 without message", { error: compacted, code: 11 }],
  ])("reads %s", (_, body) => {
    expect(gatewayStatus(body)).toEqual({ code: Code.OutOfRange, message: compacted });
  });

  it.each([
    ["no code", { error: "boom", message: "boom" }],
    ["code 0", { code: 0, message: "ok" }],
    ["a code out of range", { code: 17, message: "?" }],
    ["a code as a string", { code: "11", message: compacted }],
    ["no message", { code: 11 }],
    ["an array", [{ code: 11, message: compacted }]],
    ["null", null],
  ])("is undefined for %s", (_, body) => {
    expect(gatewayStatus(body)).toBeUndefined();
  });
});

describe("statusError", () => {
  it("carries etcd's code and message as gRPC does", () => {
    const e = statusError({ code: Code.OutOfRange, message: compacted }, { "x-a": "1" });
    expect(e).toBeInstanceOf(ConnectError);
    expect(e.rawMessage).toBe(compacted);
    expect(e.code).toBe(Code.OutOfRange);
    expect(e.metadata.get("x-a")).toBe("1");
  });
});

describe("notEtcd", () => {
  it("is a ResponseError with the endpoint, status and content type", () => {
    const e = notEtcd("not a JSON answer", {
      endpoint: "http://etcd:2379",
      url: "http://etcd:2379/v3/kv/range",
      status: 502,
      contentType: "text/html",
    });
    expect(e).toBeInstanceOf(ResponseError);
    expect(e).toMatchObject({
      kind: "response",
      endpoint: "http://etcd:2379",
      status: 502,
      contentType: "text/html",
    });
    expect(e.message).toBe("not a JSON answer (http://etcd:2379/v3/kv/range: HTTP 502, text/html)");
  });

  it("leaves out what a WebSocket message does not have", () => {
    const e = notEtcd("a binary message", { endpoint: "http://e", url: "ws://e/v3/watch" });
    expect(e.message).toBe("a binary message (ws://e/v3/watch)");
    expect([e.status, e.contentType]).toEqual([undefined, undefined]);
  });
});

describe("unavailable", () => {
  it("keeps the cause", () => {
    const cause = new TypeError("fetch failed");
    const e = unavailable("cannot reach http://e/v3/kv/range", cause);
    expect(e.code).toBe(Code.Unavailable);
    expect(e.cause).toBe(cause);
    expect(e.rawMessage).toBe("cannot reach http://e/v3/kv/range: fetch failed");
  });
});
