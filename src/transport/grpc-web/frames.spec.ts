import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  codeFromHttpStatus,
  type Frame,
  frame,
  parseTrailer,
  readFrames,
  statusError,
  trailerFlag,
} from "./frames.js";

function body(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
}

async function frames(b: ReadableStream<Uint8Array>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of readFrames(b, (e) => e)) out.push(f);
  return out;
}

const trailer = (text: string) => {
  const f = frame(new TextEncoder().encode(text));
  f[0] = trailerFlag;
  return f;
};

describe("gRPC-Web frames", () => {
  it("frames a message with flags 0 and a big-endian length", () => {
    expect([...frame(new Uint8Array([7, 8, 9]))]).toEqual([0, 0, 0, 0, 3, 7, 8, 9]);
  });

  it("reads frames split anywhere across chunks, and the trailer frame", async () => {
    const all = new Uint8Array([
      ...frame(new Uint8Array([1, 2])),
      ...trailer("grpc-status: 0\r\n"),
    ]);
    const split = [all.subarray(0, 3), all.subarray(3, 8), all.subarray(8)];
    const got = await frames(body(...split));
    expect(got.map((f) => [f.trailer, [...f.data]])).toEqual([
      [false, [1, 2]],
      [true, [...new TextEncoder().encode("grpc-status: 0\r\n")]],
    ]);
  });

  it("fails on a body that ends inside a frame, and on a compressed frame", async () => {
    await expect(frames(body(frame(new Uint8Array([1, 2])).subarray(0, 6)))).rejects.toThrow(
      /ended inside a frame/,
    );
    const compressed = frame(new Uint8Array([1]));
    compressed[0] = 1;
    await expect(frames(body(compressed))).rejects.toMatchObject({ code: Code.Internal });
  });

  it("gives a read that fails to broken()", async () => {
    const failing = new ReadableStream<Uint8Array>({
      pull() {
        throw new TypeError("network error");
      },
    });
    const seen = await (async () => {
      for await (const _ of readFrames(failing, (e) => new Error(`broke: ${String(e)}`))) {
        // none
      }
    })().catch((e: Error) => e.message);
    expect(seen).toBe("broke: TypeError: network error");
  });
});

describe("gRPC-Web status", () => {
  it("is none for grpc-status 0, and etcd's code and decoded message otherwise", () => {
    expect(statusError(parseTrailer(new TextEncoder().encode("grpc-status: 0\r\n")))).toBe(
      undefined,
    );
    const e = statusError(
      parseTrailer(
        new TextEncoder().encode(
          "grpc-status:11\r\ngrpc-message: etcdserver%3A mvcc%3A required revision is a future revision\r\n",
        ),
      ),
    );
    expect(e).toBeInstanceOf(ConnectError);
    expect(e?.code).toBe(Code.OutOfRange);
    expect(e?.rawMessage).toBe("etcdserver: mvcc: required revision is a future revision");
    expect(e?.isWireError).toBe(true);
  });

  it("is a protocol error when the status is missing or not a code", () => {
    expect(statusError(new Headers())?.code).toBe(Code.Internal);
    expect(statusError(new Headers({ "grpc-status": "99" }))?.code).toBe(Code.Internal);
  });

  it("maps an HTTP status without a gRPC one as gRPC does", () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500].map(codeFromHttpStatus)).toEqual([
      Code.Internal,
      Code.Unauthenticated,
      Code.PermissionDenied,
      Code.Unimplemented,
      Code.Unavailable,
      Code.Unavailable,
      Code.Unavailable,
      Code.Unavailable,
      Code.Unknown,
    ]);
  });
});
