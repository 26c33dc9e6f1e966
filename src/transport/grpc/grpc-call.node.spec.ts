import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { requestBlock, within } from "../../../test/fakes/h2-probe.js";
import {
  E,
  END_HEADERS,
  END_STREAM,
  h2Frame,
  okHeaders,
  okTrailers,
  RawH2Peer,
  rstCode,
  T,
} from "../../../test/fakes/raw-h2-peer.js";
import { PutResponseCodec, RangeResponseCodec } from "../../gen/etcdserverpb/rpc_codec.js";
import type { PutResponseSchema } from "../../gen/etcdserverpb/rpc_pb.js";
import { neverSent } from "../../internal/causes.js";
import { GrpcCall } from "./grpc-call.node.js";
import { H2Client } from "./h2-client.node.js";

// How a call reads the ways a stream can end, as failover needs them.

async function failure(
  end: (c: GrpcCall<typeof PutResponseSchema>) => void,
): Promise<ConnectError> {
  const call = new GrpcCall(PutResponseCodec, undefined, undefined);
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
    const e = await failure((c) => c.onEnd(undefined, E.REFUSED_STREAM));
    expect(e.code).toBe(Code.Unavailable);
    expect(neverSent(e)).toBe(true);
  });

  it("reads other resets as possibly processed", async () => {
    for (const code of [E.INTERNAL_ERROR, E.CANCEL, E.NO_ERROR]) {
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
    const call = new GrpcCall(PutResponseCodec, undefined, undefined);
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

  it("copies a message split over many DATA frames once, not once per frame", async () => {
    const call = new GrpcCall(RangeResponseCodec, undefined, undefined);
    call.onHeaders(okFields, false);
    // A RangeResponse of one 1 MiB value: kvs (field 2) { value (field 5) }.
    const value = Buffer.alloc(1 << 20, 0x61);
    const kv = Buffer.concat([Buffer.from([0x2a, 0x80, 0x80, 0x40]), value]);
    const msg = Buffer.concat([Buffer.from([0x12, 0x84, 0x80, 0x40]), kv]);
    const wire = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]);
    wire.writeUInt32BE(msg.length, 1);
    let copied = 0;
    const concat = Buffer.concat;
    vi.spyOn(Buffer, "concat").mockImplementation((list, total) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    });
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, "set").mockImplementation(function (
      this: Uint8Array,
      src: ArrayLike<number>,
      offset?: number,
    ) {
      copied += src.length;
      set.call(this, src, offset);
    });
    for (let off = 0; off < wire.length; off += 16_384) {
      call.onData(wire.subarray(off, off + 16_384), false);
    }
    vi.restoreAllMocks();
    call.onHeaders([["grpc-status", "0"]], true);
    call.onEnd();
    const m = await call.unary();
    expect(m.kvs[0]?.value.length).toBe(1 << 20);
    expect(copied).toBeLessThan(2 * wire.length);
  });

  it("fails at once a message whose length prefix claims more than maxResponseBytes", async () => {
    const call = new GrpcCall(PutResponseCodec, undefined, undefined, 1 << 20);
    let cancelled: number | undefined;
    call.stream = { cancel: (code: number) => (cancelled = code) } as unknown as GrpcCall<
      typeof PutResponseSchema
    >["stream"];
    call.onHeaders(okFields, false);
    // Only the 5-byte prefix arrived: it claims 2 GiB - 1.
    call.onData(Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]), false);
    const e = await within(
      call.unary().then(
        () => undefined,
        (err: unknown) => err,
      ),
      1000,
      "the call's failure",
    );
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((e as ConnectError).rawMessage).toMatch(/2147483647 bytes.*1048576/);
    expect(cancelled).toBe(E.CANCEL);
  });
});

const okFields: Array<[string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];

describe("GrpcCall on a connection (raw HTTP/2 peer)", { timeout: 5000 }, () => {
  let peer: RawH2Peer | undefined;
  let client: H2Client | undefined;
  afterEach(async () => {
    client?.close();
    await peer?.close();
  });

  it("a message over maxResponseBytes fails its call alone: RST_STREAM(CANCEL), the connection goes on", async () => {
    peer = await RawH2Peer.start();
    client = new H2Client(peer.url);
    const start = () => {
      const call = new GrpcCall(PutResponseCodec, undefined, 5000, 1024);
      call.stream = (client as H2Client).open(requestBlock(client as H2Client), call);
      call.stream.end();
      return call;
    };
    const big = start();
    const conn = await peer.next();
    const req = await conn.request();
    const prefix = Buffer.from([0, 0, 0, 0x04, 0x01]); // 1,025 bytes
    conn.write(
      h2Frame(T.HEADERS, END_HEADERS, req.id, okHeaders),
      h2Frame(T.DATA, 0, req.id, prefix),
    );
    await expect(big.unary()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    const rst = await conn.frame((f) => f.type === T.RST_STREAM, "RST_STREAM");
    expect(rstCode(rst)).toBe(E.CANCEL);
    // The rest of the big message still arrives: it is dropped, and counted for flow control.
    conn.write(h2Frame(T.DATA, 0, req.id, Buffer.alloc(1025)));
    const ok = start();
    const req2 = await conn.frame((f) => f.type === T.HEADERS && f.id > req.id, "a second call");
    conn.write(
      h2Frame(T.HEADERS, END_HEADERS, req2.id, okHeaders),
      h2Frame(T.DATA, 0, req2.id, Buffer.from([0, 0, 0, 0, 0])),
      h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req2.id, okTrailers),
    );
    expect((await ok.unary()).$typeName).toBe("etcdserverpb.PutResponse");
    expect(conn.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
  });
});
