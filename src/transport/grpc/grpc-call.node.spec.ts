import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PutResponseSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { neverSent } from "../../internal/causes.js";
import { GrpcCall } from "./grpc-call.node.js";
import { ErrorCode } from "./h2-session.node.js";

// How a call reads the ways a stream can end, as failover needs them.

async function failure(
  end: (c: GrpcCall<typeof PutResponseSchema>) => void,
): Promise<ConnectError> {
  const call = new GrpcCall(PutResponseSchema, undefined, undefined);
  end(call);
  const e = await call.unary().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

describe("GrpcCall", () => {
  it("reads REFUSED_STREAM as not processed: Unavailable, and safe to send elsewhere", async () => {
    const e = await failure((c) => c.onEnd(undefined, ErrorCode.RefusedStream));
    expect(e.code).toBe(Code.Unavailable);
    expect(neverSent(e)).toBe(true);
  });

  it("reads other resets as possibly processed", async () => {
    for (const code of [ErrorCode.Internal, ErrorCode.Cancel, ErrorCode.NoError]) {
      const e = await failure((c) => c.onEnd(undefined, code));
      expect(neverSent(e)).toBe(false);
    }
  });

  it("keeps a socket error's code in the cause chain", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const e = await failure((c) => c.onEnd(refused));
    expect(e.code).toBe(Code.Unavailable);
    expect(neverSent(e)).toBe(true);
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const r = await failure((c) => c.onEnd(reset));
    expect(r.code).toBe(Code.Aborted);
    expect(neverSent(r)).toBe(false);
  });

  it("decodes one message with a grpc-status 0 trailer, and refuses a missing one", async () => {
    const call = new GrpcCall(PutResponseSchema, undefined, undefined);
    call.onHeaders(
      [
        [":status", "200"],
        ["content-type", "application/grpc"],
      ],
      false,
    );
    call.onData(Buffer.from([0, 0, 0, 0, 0]), false);
    call.onHeaders([["grpc-status", "0"]], true);
    call.onEnd();
    const m = await call.unary();
    expect(m.$typeName).toBe("etcdserverpb.PutResponse");
    const noStatus = await failure((c) => {
      c.onHeaders(
        [
          [":status", "200"],
          ["content-type", "application/grpc"],
        ],
        false,
      );
      c.onData(Buffer.from([0, 0, 0, 0, 0]), true);
      c.onEnd();
    });
    expect(noStatus.message).toMatch(/missing status/);
  });
});
