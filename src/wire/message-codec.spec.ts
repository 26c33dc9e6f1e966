import {
  create,
  type DescField,
  type DescFile,
  type DescMessage,
  fromBinary,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../test/fakes/seeded-random.js";
import { InvalidInputError } from "../errors/etcd-error.js";
import * as authWire from "../gen/authpb/auth_codec.js";
import * as authPb from "../gen/authpb/auth_pb.js";
import * as authRef from "../gen/authpb/auth_ref.js";
import * as rpcWire from "../gen/etcdserverpb/rpc_codec.js";
import * as rpc from "../gen/etcdserverpb/rpc_pb.js";
import * as rpcRef from "../gen/etcdserverpb/rpc_ref.js";
import * as kvWire from "../gen/mvccpb/kv_codec.js";
import * as kvPb from "../gen/mvccpb/kv_pb.js";
import * as kvRef from "../gen/mvccpb/kv_ref.js";
import { type AnyMessageCodec, maxDepth } from "./message-codec.js";
import type { ServiceRef } from "./service-ref.js";
import { WireWriter } from "./wire-writer.js";

// The generated codecs must agree with protobuf-es, byte for byte, on every etcd message:
// protobuf-es is the reference, and the codecs replace it on the grpc-web path.

const files: DescFile[] = [rpc.file_etcdserverpb_rpc, kvPb.file_mvccpb_kv, authPb.file_authpb_auth];
const descs: DescMessage[] = [];
const visit = (m: DescMessage) => {
  descs.push(m);
  for (const n of m.nestedMessages) visit(n);
};
for (const f of files) for (const m of f.messages) visit(m);

const codecs = new Map<string, AnyMessageCodec>();
for (const mod of [rpcWire, kvWire, authWire]) {
  for (const value of Object.values(mod) as AnyMessageCodec[]) codecs.set(value.typeName, value);
}
const codec = (desc: DescMessage) => {
  const c = codecs.get(desc.typeName);
  if (!c) throw new Error(`no codec for ${desc.typeName}`);
  return c;
};

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

function scalarValue(rand: Rand, field: DescField & { fieldKind: "scalar" | "list" }): unknown {
  const edge = rand() < 0.3;
  switch (field.scalar) {
    case 3: // INT64
      return edge
        ? pick(rand, [0n, -1n, -(2n ** 63n), 2n ** 63n - 1n])
        : BigInt(Math.floor((rand() - 0.5) * 2 ** 40));
    case 4: // UINT64
      return edge
        ? pick(rand, [0n, 2n ** 64n - 1n, 2n ** 63n])
        : BigInt(Math.floor(rand() * 2 ** 50));
    case 5: // INT32
      return edge
        ? pick(rand, [0, -1, -(2 ** 31), 2 ** 31 - 1])
        : Math.floor((rand() - 0.5) * 2000);
    case 13: // UINT32
      return edge ? pick(rand, [0, 2 ** 32 - 1, 2 ** 31]) : Math.floor(rand() * 70000);
    case 8:
      return rand() < 0.5;
    case 9:
      return pick(rand, ["", "a", "héllo wörld", "日本語", "\u{1F600}", "x".repeat(200)]);
    case 12: {
      const n = pick(rand, [0, 1, 5, 130, 1000]);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
      return b;
    }
    default:
      throw new Error(`scalar ${field.scalar} in ${field.parent.typeName}`);
  }
}

function enumValue(rand: Rand, field: DescField): number {
  const values = field.enum?.values.map((v) => v.number) ?? [0];
  return rand() < 0.1 ? 77 : pick(rand, values);
}

/** A random message: each field set or not, lists of 0-3, nested messages to depth 3. */
function randomMessage(rand: Rand, desc: DescMessage, depth = 0): Message {
  const m = create(desc) as unknown as Record<string, unknown>;
  const one = (field: DescField): unknown => {
    if (field.message) return randomMessage(rand, field.message, depth + 1);
    if (field.enum) return enumValue(rand, field);
    return scalarValue(rand, field as DescField & { fieldKind: "scalar" });
  };
  for (const field of desc.fields) {
    if (rand() < 0.35) continue;
    if (field.message && depth >= 3) continue;
    if (field.oneof) {
      if (rand() < 0.5) m[field.oneof.localName] = { case: field.localName, value: one(field) };
    } else if (field.fieldKind === "list") {
      m[field.localName] = Array.from({ length: Math.floor(rand() * 4) }, () => one(field));
    } else m[field.localName] = one(field);
  }
  return m as unknown as Message;
}

describe("the generated codecs", () => {
  it("cover every message of etcd's protos", () => {
    expect(descs.length).toBeGreaterThan(100);
    expect(descs.filter((d) => !codecs.has(d.typeName)).map((d) => d.typeName)).toEqual([]);
  });

  it.each(descs.map((d) => [d.typeName, d] as const))(
    "%s: encodes as protobuf-es does, and decodes what it encodes",
    (_, desc) => {
      const c = codec(desc);
      const rand = seededRandom(desc.typeName.length * 7919 + desc.fields.length);
      for (let i = 0; i < 25; i++) {
        const m = randomMessage(rand, desc);
        const reference = toBinary(desc, m);
        const ours = c.encode(m);
        expect(ours).toEqual(reference);
        expect(c.decode(reference)).toEqual(fromBinary(desc, reference));
      }
    },
  );

  it("decodes an empty message as protobuf-es creates it: every field at its default", () => {
    for (const desc of descs) {
      expect(codec(desc).decode(new Uint8Array(0))).toStrictEqual(create(desc));
    }
  });

  it("leaves proto3's default values off the wire", () => {
    expect(rpcWire.RangeRequestCodec.encode({ key: new Uint8Array(0), limit: 0n })).toEqual(
      new Uint8Array(0),
    );
    expect(rpcWire.PutRequestCodec.encode({})).toEqual(new Uint8Array(0));
  });

  it("lists the same services and methods as protobuf-es, with the same messages", () => {
    const refs: ServiceRef[] = [
      rpcRef.KV,
      rpcRef.Watch,
      rpcRef.Lease,
      rpcRef.Cluster,
      rpcRef.Maintenance,
      rpcRef.Auth,
    ];
    expect(refs.map((s) => s.typeName)).toEqual(
      rpc.file_etcdserverpb_rpc.services.map((s) => s.typeName),
    );
    for (const service of rpc.file_etcdserverpb_rpc.services) {
      const ref = refs.find((r) => r.typeName === service.typeName) as ServiceRef;
      expect(
        Object.values(ref.methods).map((m) => [
          m.service,
          m.name,
          m.localName,
          m.kind,
          m.input.typeName,
          m.output.typeName,
        ]),
      ).toEqual(
        service.methods.map((m) => [
          service.typeName,
          m.name,
          m.localName,
          m.methodKind,
          m.input.typeName,
          m.output.typeName,
        ]),
      );
    }
  });

  it("gives every enum protobuf-es's member names and numbers", () => {
    const pb: Record<string, unknown> = { ...rpc, ...kvPb, ...authPb };
    const refs: Record<string, unknown> = { ...rpcRef, ...kvRef, ...authRef };
    const enums = files.flatMap((f) => [
      ...f.enums,
      ...descs.filter((d) => d.file === f).flatMap((d) => d.nestedEnums),
    ]);
    expect(enums.length).toBeGreaterThan(8);
    for (const e of enums) {
      const name = e.typeName.slice(e.typeName.indexOf(".") + 1).replaceAll(".", "_");
      const tsEnum = pb[name] as Record<string, string | number>;
      // A TS enum maps names to numbers and numbers back to names; keep the first.
      const expected = Object.fromEntries(
        Object.entries(tsEnum).filter(([, v]) => typeof v === "number"),
      );
      expect([name, refs[name]]).toEqual([name, expected]);
    }
  });
});

describe("decoding what etcd did not send as expected", () => {
  const kv = kvWire.KeyValueCodec;
  const sample = kv.encode({ key: new TextEncoder().encode("k"), version: 3n, lease: -5n });

  it("skips fields a newer etcd added, of every proto3 wire type", () => {
    const w = new WireWriter();
    w.tag(99, 0);
    w.uint64(2n ** 63n);
    w.tag(100, 2);
    w.bytes(new Uint8Array([1, 2, 3]));
    w.tag(101, 1);
    const extra = [...w.finish(), 1, 2, 3, 4, 5, 6, 7, 8, ...[0x35 << 0, 0, 0, 0, 0].slice(0, 0)];
    const w2 = new WireWriter();
    w2.tag(102, 5);
    const bytes = new Uint8Array([...sample, ...extra, ...w2.finish(), 9, 9, 9, 9]);
    expect(kv.decode(bytes)).toEqual(kv.decode(sample));
  });

  it("takes repeated numbers packed or not", () => {
    const codec = rpcWire.WatchCreateRequestCodec;
    const packed = codec.encode({ filters: [1, 0, 1] });
    expect(packed).toEqual(new Uint8Array([0x2a, 3, 1, 0, 1]));
    const unpacked = new Uint8Array([0x28, 1, 0x28, 0, 0x28, 1]);
    expect(codec.decode(unpacked).filters).toEqual([1, 0, 1]);
    expect(codec.decode(packed).filters).toEqual([1, 0, 1]);
  });

  it("merges a message field sent twice, as protobuf does", () => {
    const a = rpcWire.PutResponseCodec.encode({ header: { revision: 5n } });
    const b = rpcWire.PutResponseCodec.encode({ header: { memberId: 7n } });
    const header = rpcWire.PutResponseCodec.decode(new Uint8Array([...a, ...b])).header;
    expect([header?.revision, header?.memberId]).toEqual([5n, 7n]);
  });

  it.each([
    ["bytes cut off inside a varint", new Uint8Array([0x18, 0x80])],
    ["a length past the end", new Uint8Array([0x0a, 5, 1])],
    ["a varint of 11 bytes", new Uint8Array([0x18, ...new Array(10).fill(0xff), 1])],
    ["field number 0", new Uint8Array([0x00, 1])],
    ["a group (not proto3)", new Uint8Array([0x1b])],
    ["a known field with the wrong wire type", new Uint8Array([0x0d, 1, 2, 3, 4])],
    ["a fixed-width field cut off", new Uint8Array([0x79, 1, 2])],
  ])("throws on %s", (_, bytes) => {
    expect(() => kv.decode(bytes)).toThrow(/byte|end|wire type|field number/);
  });

  it("refuses messages nested deeper than maxDepth, before the stack runs out", () => {
    // A TxnResponse whose first ResponseOp holds a TxnResponse, and so on.
    const nested = (levels: number): Uint8Array => {
      let bytes: Uint8Array = new Uint8Array(0);
      for (let i = 0; i < levels; i++) {
        const op = rpcWire.ResponseOpCodec.encode({
          response: { case: "responseTxn", value: rpcWire.TxnResponseCodec.decode(bytes) },
        });
        bytes = rpcWire.TxnResponseCodec.encode({
          responses: [rpcWire.ResponseOpCodec.decode(op)],
        });
      }
      return bytes;
    };
    // Each level is two messages deep: a TxnResponse and its ResponseOp.
    expect(() => rpcWire.TxnResponseCodec.decode(nested(maxDepth / 2))).not.toThrow();
    expect(() => rpcWire.TxnResponseCodec.decode(nested(maxDepth / 2 + 1))).toThrow(
      `nested deeper than ${maxDepth}`,
    );
  });

  it("throws when a nested message runs past its length", () => {
    // PutResponse.header announces 2 bytes, but its varint runs into a third.
    expect(() =>
      rpcWire.PutResponseCodec.decode(new Uint8Array([0x0a, 2, 0x18, 0x80, 0x01])),
    ).toThrow(/runs past its end/);
  });
});

describe("encoding what the caller passed", () => {
  it.each([
    ["a number too large for int64", { lease: 2n ** 63n }, "etcdserverpb.PutRequest.lease"],
    ["a fraction for int64", { lease: 1.5 }, "etcdserverpb.PutRequest.lease"],
    ["a string for bytes", { key: "k" }, "etcdserverpb.PutRequest.key"],
    ["a number for bool", { prevKv: 1 }, "etcdserverpb.PutRequest.prevKv"],
    ["0 for bytes, which proto3 would leave out", { value: 0 }, "etcdserverpb.PutRequest.value"],
  ])("refuses %s with an InvalidInputError naming the field", (_, input, field) => {
    const attempt = () => rpcWire.PutRequestCodec.encode(input as never);
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(field);
  });

  it("refuses an unsigned field's negative value and a string where a message goes", () => {
    expect(() => rpcWire.MemberRemoveRequestCodec.encode({ ID: -1n } as never)).toThrow(
      /unsigned 64-bit/,
    );
    expect(() => rpcWire.PutResponseCodec.encode({ header: "x" } as never)).toThrow(
      /must be a message/,
    );
  });

  it("writes a negative enum number as protobuf-es does: sign-extended to 10 bytes", () => {
    const init = { sortOrder: -1 } as never;
    const ours = rpcWire.RangeRequestCodec.encode(init);
    expect(ours).toEqual(toBinary(rpc.RangeRequestSchema, create(rpc.RangeRequestSchema, init)));
    expect(ours.length).toBe(11);
    expect(rpcWire.RangeRequestCodec.decode(ours).sortOrder).toBe(-1);
  });

  it("takes numbers and decimal strings for 64-bit fields, as protobuf-es does", () => {
    const a = rpcWire.PutRequestCodec.encode({ lease: 42 } as never);
    const b = rpcWire.PutRequestCodec.encode({ lease: "42" } as never);
    expect(a).toEqual(rpcWire.PutRequestCodec.encode({ lease: 42n }));
    expect(b).toEqual(a);
  });
});
