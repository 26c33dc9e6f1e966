import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { refusal } from "../../test/fakes/refusal.js";
import { InvalidInputError, ResponseError } from "../errors/etcd-error.js";
import {
  DeleteRangeResponseSchema,
  PutResponseSchema,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  RangeResponseSchema,
} from "../gen/etcdserverpb/rpc_pb.js";
import { KeyValueSchema } from "../gen/mvccpb/kv_pb.js";
import {
  checkSize,
  compactRequest,
  defaultMaxRequestBytes,
  deleteRequest,
  deleteResult,
  int64,
  keyRange,
  putRequest,
  putResult,
  rangeRequest,
  rangeResult,
  type SortTarget,
  uint64,
} from "./kv.js";

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);
const header = { clusterId: 1n, memberId: 2n, revision: 9n, raftTerm: 3n };
const kv = (key: string, value: string, modRevision = 5n) =>
  create(KeyValueSchema, { key: enc(key), value: enc(value), modRevision });

describe("keyRange", () => {
  it("covers one key with an empty range end", () => {
    expect(keyRange("a", {}, "get")).toEqual({ key: enc("a"), rangeEnd: bytes() });
  });

  it("covers a prefix up to the prefix's end", () => {
    expect(keyRange("app/", { prefix: true }, "get")).toEqual({
      key: enc("app/"),
      rangeEnd: enc("app0"),
    });
    expect(keyRange(bytes(0x61, 0xff), { prefix: true }, "get").rangeEnd).toEqual(bytes(0x62));
  });

  it("reads an empty key with prefix as every key: key and range end \\0", () => {
    expect(keyRange("", { prefix: true }, "get")).toEqual({ key: bytes(0), rangeEnd: bytes(0) });
  });

  it("covers every key from the key on with fromKey: range end \\0", () => {
    expect(keyRange("m", { fromKey: true }, "get")).toEqual({ key: enc("m"), rangeEnd: bytes(0) });
  });

  it("takes an explicit range end as text or bytes", () => {
    expect(keyRange("a", { rangeEnd: "c" }, "get").rangeEnd).toEqual(enc("c"));
    expect(keyRange("a", { rangeEnd: bytes(0x63) }, "get").rangeEnd).toEqual(bytes(0x63));
  });

  it("lets false options through", () => {
    expect(keyRange("a", { prefix: false, fromKey: false, rangeEnd: "b" }, "get").rangeEnd).toEqual(
      enc("b"),
    );
  });

  it("refuses an empty key without prefix, pointing to prefix", () => {
    for (const o of [{}, { fromKey: true }, { rangeEnd: "z" }]) {
      const e = refusal(() => keyRange("", o, "delete"));
      expect(e.field).toBe("key");
      expect(e.message).toMatch(/^delete: .*prefix: true/);
    }
  });

  it("refuses more than one of prefix, rangeEnd and fromKey", () => {
    const e = refusal(() => keyRange("a", { prefix: true, fromKey: true }, "get"));
    expect(e.message).toBe("get: give only one of prefix, fromKey");
    expect(e.field).toBe("fromKey");
    expect(refusal(() => keyRange("a", { prefix: true, rangeEnd: "b" }, "get")).field).toBe(
      "rangeEnd",
    );
  });

  it("refuses a key that is neither text nor bytes", () => {
    expect(refusal(() => keyRange(7 as unknown as string, {}, "get")).field).toBe("key");
    expect(refusal(() => keyRange("a", { rangeEnd: 7 as unknown as string }, "get")).field).toBe(
      "rangeEnd",
    );
  });
});

describe("int64", () => {
  it("reads undefined as 0", () => {
    expect(int64(undefined, "limit")).toBe(0n);
  });

  it("takes whole numbers and bigints from 0 to 2^63-1", () => {
    expect(int64(0, "limit")).toBe(0n);
    expect(int64(Number.MAX_SAFE_INTEGER, "limit")).toBe(2n ** 53n - 1n);
    expect(int64(2n ** 63n - 1n, "revision")).toBe(2n ** 63n - 1n);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -1n, 2n ** 63n])(
    "refuses %s, naming the field",
    (v) => {
      const e = refusal(() => int64(v, "revision"));
      expect(e.field).toBe("revision");
      expect(e.message).toContain(`got ${String(v)}`);
    },
  );
});

describe("uint64", () => {
  it("takes whole numbers and bigints up to 2^64-1", () => {
    expect(uint64(7, "memberId")).toBe(7n);
    expect(uint64(2n ** 64n - 1n, "memberId")).toBe(2n ** 64n - 1n);
  });

  it.each([undefined, -1, 0.5, -1n, 2n ** 64n])("refuses %s", (v) => {
    expect(refusal(() => uint64(v, "memberId")).field).toBe("memberId");
  });
});

describe("rangeRequest", () => {
  it("asks for one key, linearizable, unsorted and unlimited by default", () => {
    expect(rangeRequest("k")).toEqual({
      key: enc("k"),
      rangeEnd: bytes(),
      limit: 0n,
      revision: 0n,
      sortOrder: RangeRequest_SortOrder.NONE,
      sortTarget: RangeRequest_SortTarget.KEY,
      serializable: false,
      keysOnly: false,
      countOnly: false,
      minModRevision: 0n,
      maxModRevision: 0n,
      minCreateRevision: 0n,
      maxCreateRevision: 0n,
    });
  });

  it("passes every option on, numbers as int64", () => {
    const r = rangeRequest("k", {
      prefix: true,
      limit: 10,
      revision: 42n,
      serializable: true,
      keysOnly: true,
      minModRevision: 1,
      maxModRevision: 2,
      minCreateRevision: 3,
      maxCreateRevision: 4n,
    });
    expect(r).toMatchObject({
      rangeEnd: enc("l"),
      limit: 10n,
      revision: 42n,
      serializable: true,
      keysOnly: true,
      minModRevision: 1n,
      maxModRevision: 2n,
      minCreateRevision: 3n,
      maxCreateRevision: 4n,
    });
  });

  it("sorts ascending by the target given, or descending when asked", () => {
    expect(rangeRequest("k", { sort: { target: "mod" } })).toMatchObject({
      sortOrder: RangeRequest_SortOrder.ASCEND,
      sortTarget: RangeRequest_SortTarget.MOD,
    });
    expect(rangeRequest("k", { sort: { order: "descend" } })).toMatchObject({
      sortOrder: RangeRequest_SortOrder.DESCEND,
      sortTarget: RangeRequest_SortTarget.KEY,
    });
    expect(rangeRequest("k", { sort: { target: "value", order: "ascend" } }).sortTarget).toBe(
      RangeRequest_SortTarget.VALUE,
    );
  });

  it("refuses keysOnly with countOnly", () => {
    expect(refusal(() => rangeRequest("k", { keysOnly: true, countOnly: true })).field).toBe(
      "countOnly",
    );
  });

  it("refuses an unknown sort target or order", () => {
    expect(refusal(() => rangeRequest("k", { sort: { target: "size" as SortTarget } })).field).toBe(
      "sort.target",
    );
    expect(refusal(() => rangeRequest("k", { sort: { order: "up" as "ascend" } })).field).toBe(
      "sort.order",
    );
  });

  // Regression (a bug this spec found, now fixed): the target is checked with `target in sortTargets`, which also holds for the names
  // of Object.prototype ("constructor", "toString", ...): such a target passes the check and
  // sortTarget becomes a function. Use Object.hasOwn(sortTargets, target).
  it("refuses a sort target named after an Object.prototype member", () => {
    expect(
      refusal(() => rangeRequest("k", { sort: { target: "constructor" as SortTarget } })).field,
    ).toBe("sort.target");
  });

  it("refuses a negative limit or revision", () => {
    expect(refusal(() => rangeRequest("k", { limit: -1 })).field).toBe("limit");
    expect(refusal(() => rangeRequest("k", { revision: -5n })).field).toBe("revision");
  });
});

describe("rangeResult", () => {
  it("reads the header, the key-values, more and count, and the first key-value", () => {
    const r = rangeResult(
      create(RangeResponseSchema, {
        header,
        kvs: [kv("a", "1"), kv("b", "2")],
        more: true,
        count: 5n,
      }),
    );
    expect(r.header).toEqual(header);
    expect(r.kvs.map((k) => [k.keyText, k.text()])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    expect(r.first?.keyText).toBe("a");
    expect(r.more).toBe(true);
    expect(r.count).toBe(5n);
  });

  it("has no first key-value when none matched", () => {
    expect(rangeResult(create(RangeResponseSchema, { header })).first).toBeUndefined();
  });

  it("refuses a response without etcd's header", () => {
    expect(() => rangeResult(create(RangeResponseSchema, {}))).toThrow(ResponseError);
  });
});

describe("putRequest", () => {
  const max = defaultMaxRequestBytes;

  it("sends the key, value, lease and flags", () => {
    expect(putRequest("k", bytes(1, 2), { lease: 7, prevKv: true }, max)).toEqual({
      key: enc("k"),
      value: bytes(1, 2),
      lease: 7n,
      prevKv: true,
      ignoreValue: false,
      ignoreLease: false,
    });
  });

  it("allows an empty value", () => {
    expect(putRequest("k", "", {}, max).value).toEqual(bytes());
  });

  it("refuses an empty key", () => {
    expect(refusal(() => putRequest("", "v", {}, max)).field).toBe("key");
  });

  it("takes ignoreValue only with an empty value", () => {
    expect(putRequest("k", "", { ignoreValue: true }, max).ignoreValue).toBe(true);
    expect(refusal(() => putRequest("k", "v", { ignoreValue: true }, max)).field).toBe("value");
  });

  it("takes ignoreLease only without a lease other than 0", () => {
    expect(putRequest("k", "v", { ignoreLease: true, lease: 0n }, max).ignoreLease).toBe(true);
    expect(refusal(() => putRequest("k", "v", { ignoreLease: true, lease: 5 }, max)).field).toBe(
      "lease",
    );
  });

  it("refuses a key and value over the request limit less 512 bytes of overhead", () => {
    const limit = 2_000;
    expect(() => putRequest("k", new Uint8Array(limit - 512 - 1), {}, limit)).not.toThrow();
    const e = refusal(() => putRequest("k", new Uint8Array(limit - 512), {}, limit));
    expect(e.field).toBe("value");
    expect(e.message).toContain("2000 bytes");
  });

  it("counts UTF-8 bytes, not characters", () => {
    const limit = 520;
    expect(() => putRequest("k", "é".repeat(3), {}, limit)).not.toThrow();
    expect(() => putRequest("k", "é".repeat(4), {}, limit)).toThrow(InvalidInputError);
  });
});

describe("putResult", () => {
  it("reads the previous key-value when there was one", () => {
    const r = putResult(create(PutResponseSchema, { header, prevKv: kv("k", "old") }));
    expect(r.prevKv?.text()).toBe("old");
    expect(putResult(create(PutResponseSchema, { header })).prevKv).toBeUndefined();
  });
});

describe("deleteRequest and deleteResult", () => {
  it("deletes a prefix, returning the deleted key-values when asked", () => {
    expect(deleteRequest("a/", { prefix: true, prevKv: true })).toEqual({
      key: enc("a/"),
      rangeEnd: enc("a0"),
      prevKv: true,
    });
    expect(deleteRequest("a").prevKv).toBe(false);
  });

  it("refuses an empty key without prefix", () => {
    expect(refusal(() => deleteRequest("")).field).toBe("key");
  });

  it("reads the count and the deleted key-values", () => {
    const r = deleteResult(
      create(DeleteRangeResponseSchema, { header, deleted: 2n, prevKvs: [kv("a", "1")] }),
    );
    expect(r.deleted).toBe(2n);
    expect(r.prevKvs.map((k) => k.keyText)).toEqual(["a"]);
  });
});

describe("compactRequest", () => {
  it("compacts at a revision above 0", () => {
    expect(compactRequest(10)).toEqual({ revision: 10n, physical: false });
    expect(compactRequest(10n, { physical: true }).physical).toBe(true);
  });

  it("refuses revision 0 and negative ones", () => {
    expect(refusal(() => compactRequest(0)).field).toBe("revision");
    expect(refusal(() => compactRequest(-1)).field).toBe("revision");
  });
});

describe("checkSize", () => {
  it("leaves 512 bytes of the limit for the rest of the request", () => {
    expect(() => checkSize(488, 1_000, "txn")).not.toThrow();
    expect(refusal(() => checkSize(489, 1_000, "txn")).message).toMatch(/^txn: 489 bytes/);
  });

  it("defaults to etcd's 1.5 MiB", () => {
    expect(defaultMaxRequestBytes).toBe(1_572_864);
  });
});
