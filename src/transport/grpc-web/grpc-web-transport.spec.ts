import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  RangeRequestSchema,
  RangeResponseSchema,
  WatchResponseSchema,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { KV, Watch } from "../../gen/etcdserverpb/rpc_ref.js";
import { serverStreaming } from "../../wire/service-ref.js";
import { frame, trailerFlag } from "./frames.js";
import { createGrpcWebTransport } from "./grpc-web-transport.js";

const enc = new TextEncoder();

function trailer(text: string): Uint8Array {
  const f = frame(enc.encode(text));
  f[0] = trailerFlag;
  return f;
}

function body(...frames: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

const grpcWeb = { "content-type": "application/grpc-web+proto" };

function transport(answer: (req: Request) => Response) {
  const requests: Request[] = [];
  const t = createGrpcWebTransport({
    baseUrl: "http://proxy/etcd/",
    fetch: async (input, init) => {
      const req = new Request(input, init);
      requests.push(req);
      return answer(req);
    },
  });
  return { t, requests };
}

const range = KV.methods.range;
const call = (o: { timeoutMs?: number; headers?: HeadersInit } = {}) => ({
  signal: new AbortController().signal,
  ...o,
});

describe("the gRPC-Web transport", () => {
  it("posts one framed message with gRPC-Web's headers, and reads the answer and its status", async () => {
    const answer = create(RangeResponseSchema, { count: 3n });
    const { t, requests } = transport(
      () =>
        new Response(
          body(frame(toBinary(RangeResponseSchema, answer)), trailer("grpc-status: 0\r\n")),
          { headers: grpcWeb },
        ),
    );
    const res = await t.unary(range, call({ timeoutMs: 1500, headers: { token: "tok" } }), {
      key: enc.encode("k"),
    });
    expect(res.count).toBe(3n);
    const req = requests[0];
    expect(req?.url).toBe("http://proxy/etcd/etcdserverpb.KV/Range");
    expect(req?.headers.get("content-type")).toBe("application/grpc-web+proto");
    expect(req?.headers.get("x-grpc-web")).toBe("1");
    expect(req?.headers.get("grpc-timeout")).toBe("1500m");
    expect(req?.headers.get("token")).toBe("tok");
    const sent = new Uint8Array(await (req as Request).arrayBuffer());
    expect(sent[0]).toBe(0);
    expect(new TextDecoder().decode(fromBinary(RangeRequestSchema, sent.subarray(5)).key)).toBe(
      "k",
    );
  });

  it("gives etcd's status from a trailers-only answer", async () => {
    const { t } = transport(
      () =>
        new Response(null, {
          headers: {
            ...grpcWeb,
            "grpc-status": "11",
            "grpc-message": "etcdserver%3A mvcc%3A required revision is a future revision",
          },
        }),
    );
    const e = await t.unary(range, call(), {}).catch((x) => x);
    expect(e).toBeInstanceOf(ConnectError);
    expect(e.code).toBe(Code.OutOfRange);
    expect(e.rawMessage).toBe("etcdserver: mvcc: required revision is a future revision");
  });

  it("maps an HTTP error without a gRPC status, and a body without one", async () => {
    const failed = transport(() => new Response("busy", { status: 503, headers: grpcWeb }));
    await expect(failed.t.unary(range, call(), {})).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    const cut = transport(() => new Response(body(frame(new Uint8Array(0))), { headers: grpcWeb }));
    await expect(cut.t.unary(range, call(), {})).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: "the response ended without a status",
    });
  });

  it("streams a server-streaming call's messages, then throws its error status", async () => {
    const msg = (id: bigint) =>
      frame(toBinary(WatchResponseSchema, create(WatchResponseSchema, { watchId: id })));
    const { t } = transport(
      () =>
        new Response(body(msg(1n), msg(2n), trailer("grpc-status: 1\r\ngrpc-message: gone\r\n")), {
          headers: grpcWeb,
        }),
    );
    const res = await t.stream(
      serverStreaming(Watch.methods.watch),
      call(),
      (async function* () {
        yield {};
      })(),
    );
    const ids: bigint[] = [];
    const end = await (async () => {
      for await (const m of res) ids.push(m.watchId);
    })().catch((e: ConnectError) => e);
    expect(ids).toEqual([1n, 2n]);
    expect(end).toMatchObject({ code: Code.Canceled, rawMessage: "gone" });
  });

  it("refuses a method that streams its requests: fetch cannot", async () => {
    const { t, requests } = transport(() => new Response(null));
    await expect(
      t.stream(Watch.methods.watch, call(), (async function* () {})()),
    ).rejects.toMatchObject({ code: Code.Unimplemented });
    expect(requests).toEqual([]);
  });
});
