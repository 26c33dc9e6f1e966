import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type WatchRequest,
  WatchRequestSchema,
  WatchResponseSchema,
} from "../gen/etcdserverpb/rpc_pb.js";
import { Watch } from "../gen/etcdserverpb/rpc_ref.js";
import { serverStreaming } from "../wire/service-ref.js";
import { grpcWebTransport } from "./grpc-web.js";

const enc = (s: string) => new TextEncoder().encode(s);
const method = serverStreaming(Watch.methods.watch);
const call = { signal: new AbortController().signal, headers: {} };

/** One gRPC-Web frame: flag byte, 4-byte big-endian length, data. */
function frame(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

/** The frames of a body, parsed as a proxy would. */
function frames(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < body.length; ) {
    const n = new DataView(body.buffer, body.byteOffset + i + 1, 4).getUint32(0);
    out.push(body.slice(i + 5, i + 5 + n));
    i += 5 + n;
  }
  return out;
}

function over(answer: Uint8Array[]) {
  const sent: { url: string; body: Uint8Array; headers: Headers }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({
      url,
      body: init.body as Uint8Array,
      headers: new Headers(init.headers),
    });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of answer) c.enqueue(chunk);
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/grpc-web+proto" } });
  }) as typeof globalThis.fetch;
  const { transport } = grpcWebTransport({ baseUrl: "http://proxy/etcd", fetch });
  return { transport, sent };
}

async function* requests(...keys: string[]) {
  for (const [i, key] of keys.entries()) {
    yield create(WatchRequestSchema, {
      requestUnion: {
        case: "createRequest",
        value: { key: enc(key), watchId: BigInt(i + 1) },
      },
    });
  }
}

const created = (watchId: bigint) =>
  frame(0, toBinary(WatchResponseSchema, create(WatchResponseSchema, { watchId, created: true })));
const trailer = (status: number, message = "") =>
  frame(0x80, enc(`grpc-status: ${status}\r\ngrpc-message: ${message}\r\n`));

describe("a Watch over the grpc-web protocol", () => {
  it("sends every request message, framed one after another in one body", async () => {
    const { transport, sent } = over([created(1n), created(2n), created(3n), trailer(0)]);
    const res = await transport.stream(method, call, requests("a", "b", "c"));
    const got: bigint[] = [];
    for await (const m of res) got.push(m.watchId);
    expect(got).toEqual([1n, 2n, 3n]);
    expect(sent[0]?.url).toBe("http://proxy/etcd/etcdserverpb.Watch/Watch");
    expect(sent[0]?.headers.get("content-type")).toBe("application/grpc-web+proto");
    const body = frames(sent[0]?.body ?? new Uint8Array());
    const decoded = body.map((b) => fromBinary(WatchRequestSchema, b) as WatchRequest);
    expect(
      decoded.map((r) =>
        r.requestUnion.case === "createRequest"
          ? [new TextDecoder().decode(r.requestUnion.value.key), r.requestUnion.value.watchId]
          : undefined,
      ),
    ).toEqual([
      ["a", 1n],
      ["b", 2n],
      ["c", 3n],
    ]);
  });

  it("fails with the status of an error trailer", async () => {
    const { transport } = over([created(1n), trailer(8, "too many creates")]);
    const res = await transport.stream(method, call, requests("a"));
    const error = await (async () => {
      for await (const _ of res) {
        // read on
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: Code.ResourceExhausted, rawMessage: "too many creates" });
  });

  it("fails as unavailable when the body ends without a trailer", async () => {
    const { transport } = over([created(1n)]);
    const res = await transport.stream(method, call, requests("a"));
    const error = await (async () => {
      for await (const _ of res) {
        // read on
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: Code.Unavailable });
  });
});
