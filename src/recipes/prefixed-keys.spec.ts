import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { KeyValueSchema } from "../gen/mvccpb/kv_pb.js";
import { KeyValue } from "../v3/key-value.js";
import { keyRange } from "../v3/kv.js";
import { compare, op, type TxnResult } from "../v3/txn.js";
import { PrefixedKeys } from "./prefixed-keys.js";

const enc = (s: string) => new TextEncoder().encode(s);
const keys = new PrefixedKeys(enc("app/"));
const header = { clusterId: 1n, memberId: 2n, revision: 9n, raftTerm: 3n };
const kv = (key: string) =>
  new KeyValue(create(KeyValueSchema, { key: enc(key), value: enc("v"), modRevision: 5n }));

describe("PrefixedKeys.range", () => {
  it.each([
    ["one key", "k", {}, "app/k", ""],
    ["a prefix", "b/", { prefix: true }, "app/b/", "app/b0"],
    ["every key", "", { prefix: true }, "app/\0", "app0"],
    ["from a key on", "m", { fromKey: true }, "app/m", "app0"],
    ["[key, rangeEnd)", "a", { rangeEnd: "c" }, "app/a", "app/c"],
  ])("keeps %s inside the prefix", (_, key, options, want, wantEnd) => {
    const r = keys.range(keyRange(key, options, "get"));
    expect(r).toEqual({ key: enc(want), rangeEnd: enc(wantEnd) });
  });

  it("ends at the end of the keyspace when the prefix has no end of its own", () => {
    const top = new PrefixedKeys(new Uint8Array([0xff, 0xff]));
    const r = top.range(keyRange("", { prefix: true }, "get"));
    expect(r).toEqual({ key: new Uint8Array([0xff, 0xff, 0]), rangeEnd: new Uint8Array([0]) });
  });
});

describe("PrefixedKeys requests", () => {
  it("prefixes comparisons, keeping their target", () => {
    const c = keys.compare(compare.modRevision("k", "<", 7));
    expect(c.message).toMatchObject({
      key: enc("app/k"),
      rangeEnd: new Uint8Array(),
      targetUnion: { case: "modRevision", value: 7n },
    });
    expect(keys.compare(compare.version("", ">", 0, { prefix: true })).message).toMatchObject({
      key: enc("app/\0"),
      rangeEnd: enc("app0"),
    });
  });

  it("prefixes get, put, delete and nested txn operations when built", () => {
    const ops = [
      op.get("g", { prefix: true, limit: 2 }),
      op.put("p", "v", { lease: 5 }),
      op.delete("d", { fromKey: true }),
      op.txn({
        compare: [compare.value("c", "=", "x")],
        success: [op.put("s", "1")],
        failure: [op.get("f")],
      }),
    ].map((o) => keys.op(o));
    expect(ops.map((o) => o.kind)).toEqual(["get", "put", "delete", "txn"]);
    const built = ops.map((o) => o.build(10_000).request);
    expect(built[0]).toMatchObject({
      case: "requestRange",
      value: { key: enc("app/g"), rangeEnd: enc("app/h"), limit: 2n },
    });
    expect(built[1]).toMatchObject({
      case: "requestPut",
      value: { key: enc("app/p"), value: enc("v"), lease: 5n },
    });
    expect(built[2]).toMatchObject({
      case: "requestDeleteRange",
      value: { key: enc("app/d"), rangeEnd: enc("app0") },
    });
    expect(built[3]).toMatchObject({
      case: "requestTxn",
      value: {
        compare: [{ key: enc("app/c") }],
        success: [{ request: { case: "requestPut", value: { key: enc("app/s") } } }],
        failure: [{ request: { case: "requestRange", value: { key: enc("app/f") } } }],
      },
    });
  });

  it("counts the bytes the prefix adds in the request size", () => {
    const put = op.put("p", "v");
    expect(keys.op(put).payloadBytes).toBe(put.payloadBytes + 4);
    const get = op.get("g", { prefix: true });
    expect(keys.op(get).payloadBytes).toBe(get.payloadBytes + 8);
    const nested = op.txn({ compare: [compare.value("c", "=", "x")], success: [put, get] });
    expect(keys.op(nested).payloadBytes).toBe(nested.payloadBytes + 4 + 4 + 8);
  });
});

describe("PrefixedKeys responses", () => {
  it("strips the prefix from keys, leaving others as they are", () => {
    expect(keys.strip(enc("app/x"))).toEqual(enc("x"));
    expect(keys.strip(enc("other"))).toEqual(enc("other"));
    expect(keys.has(enc("app"))).toBe(false);
    const stripped = keys.kv(kv("app/x"));
    expect(stripped.keyText).toBe("x");
    expect(stripped.modRevision).toBe(5n);
  });

  it("strips keys throughout a txn's responses, nested ones included", () => {
    const res: TxnResult = {
      header,
      succeeded: true,
      responses: [
        { type: "get", header, kvs: [kv("app/a")], more: false, count: 1n, first: kv("app/a") },
        { type: "put", header, prevKv: kv("app/b") },
        {
          type: "txn",
          header,
          succeeded: false,
          responses: [{ type: "delete", header, deleted: 1n, prevKvs: [kv("app/c")] }],
        },
      ],
    };
    const out = keys.txn(res);
    const [get, put, nested] = out.responses;
    expect(get?.type === "get" && [get.first?.keyText, get.kvs[0]?.keyText]).toEqual(["a", "a"]);
    expect(put?.type === "put" && put.prevKv?.keyText).toBe("b");
    const del = nested?.type === "txn" ? nested.responses[0] : undefined;
    expect(del?.type === "delete" && del.prevKvs[0]?.keyText).toBe("c");
  });

  it("strips watch events and their previous key-values", () => {
    const out = keys.watchResponse({
      header,
      progressNotify: false,
      events: [{ type: "delete", kv: kv("app/k"), prevKv: kv("app/k") }],
    });
    expect(out.events[0]?.kv.keyText).toBe("k");
    expect(out.events[0]?.prevKv?.keyText).toBe("k");
  });
});
