// Section 7: the CPU of encoding and decoding etcd's messages, with the generated codecs that
// grpc-web and grpc use (src/wire/) and with protobuf-es's reflection (what they replaced, and
// what the gateway and connect-node still use), on the same bytes, side by side in one run.
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  PutRequestCodec,
  RangeResponseCodec,
  WatchResponseCodec,
} from "../src/gen/etcdserverpb/rpc_codec.js";
import {
  PutRequestSchema,
  RangeResponseSchema,
  WatchResponseSchema,
} from "../src/gen/etcdserverpb/rpc_pb.js";
import type { MessageCodec } from "../src/wire/message-codec.js";
import { median } from "./lib/stats.js";

export interface CodecRow {
  what: string;
  /** The message's encoded size. */
  bytes: number;
  /** µs per message, median of the repeats. */
  codecUs: number;
  protobufEsUs: number;
  repeats: number;
}

interface Case {
  what: string;
  bytes: Uint8Array;
  codec: () => unknown;
  protobufEs: () => unknown;
}

const enc = new TextEncoder();

function kvs(n: number, valueBytes: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: enc.encode(`bench/codec/${i}`),
    value: new Uint8Array(valueBytes).fill(i & 0xff),
    createRevision: BigInt(1000 + i),
    modRevision: BigInt(2000 + i),
    version: 3n,
  }));
}

function decodeCase<D extends DescMessage>(
  what: string,
  schema: D,
  codec: MessageCodec<D>,
  init: MessageInitShape<D>,
): Case {
  const bytes = toBinary(schema, create(schema, init));
  return {
    what,
    bytes,
    codec: () => codec.decode(bytes),
    protobufEs: () => fromBinary(schema, bytes),
  };
}

function cases(): Case[] {
  const header = { revision: 123_456n, clusterId: 2n ** 60n, memberId: 42n, raftTerm: 7n };
  const put = { key: enc.encode("bench/codec/key"), value: new Uint8Array(64), lease: 0n };
  return [
    {
      what: "encode a Put of 64 B",
      bytes: PutRequestCodec.encode(put),
      codec: () => PutRequestCodec.encode(put),
      protobufEs: () => toBinary(PutRequestSchema, create(PutRequestSchema, put)),
    },
    decodeCase("decode a Range of 1 key (64 B)", RangeResponseSchema, RangeResponseCodec, {
      header,
      kvs: kvs(1, 64),
      count: 1n,
    }),
    decodeCase("decode a Range of 100 keys (64 B each)", RangeResponseSchema, RangeResponseCodec, {
      header,
      kvs: kvs(100, 64),
      count: 100n,
    }),
    decodeCase("decode a Watch response of 100 events", WatchResponseSchema, WatchResponseCodec, {
      header,
      watchId: 1n,
      events: kvs(100, 64).map((kv) => ({ kv })),
    }),
    decodeCase(
      "decode a Range of 13 MiB (208 values of 64 KiB)",
      RangeResponseSchema,
      RangeResponseCodec,
      { header, kvs: kvs(208, 64 * 1024), count: 208n },
    ),
  ];
}

/** µs per call of fn, run for about budgetMs. */
function perCall(fn: () => unknown, budgetMs: number): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    now = performance.now();
  }
  return ((now - start) * 1000) / n;
}

export function runCodec(repeats: number, onStep?: (step: string) => void): CodecRow[] {
  const rows: CodecRow[] = [];
  for (const c of cases()) {
    onStep?.(`codec ${c.what}`);
    perCall(c.codec, 100);
    perCall(c.protobufEs, 100);
    const own: number[] = [];
    const pe: number[] = [];
    for (let r = 0; r < repeats; r++) {
      // Alternate which goes first, so that neither always runs on a warmer (or hotter) core.
      if (r % 2 === 0) {
        own.push(perCall(c.codec, 300));
        pe.push(perCall(c.protobufEs, 300));
      } else {
        pe.push(perCall(c.protobufEs, 300));
        own.push(perCall(c.codec, 300));
      }
    }
    rows.push({
      what: c.what,
      bytes: c.bytes.length,
      codecUs: median(own),
      protobufEsUs: median(pe),
      repeats,
    });
  }
  return rows;
}
