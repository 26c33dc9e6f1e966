import { describe, expect, it } from "vitest";
import {
  ClusterError,
  ContextError,
  compare,
  Etcd,
  GrpcError,
  InvalidInputError,
  op,
  type Protocol,
} from "../../src/node.js";
import { onProtocol, protocolEndpoints } from "./protocols.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe.each(protocolEndpoints.names)("KV and Txn over %s", (protocol: Protocol) => {
  const t = onProtocol(protocol);

  it("puts, gets and deletes text and bytes", async () => {
    const put = await t.client.put("magic", "hello");
    expect(put.header.revision).toBeGreaterThan(1n);
    const got = await t.client.get("magic");
    expect(got.count).toBe(1n);
    expect(got.first?.text()).toBe("hello");
    expect(got.first?.keyText).toBe("magic");
    expect(got.first?.modRevision).toBe(put.header.revision);

    const bin = new Uint8Array([0, 1, 254, 255]);
    await t.client.put(bin, bin);
    const b = await t.client.get(bin);
    expect(b.first?.value).toEqual(bin);
    expect(b.first?.hex()).toBe("0001feff");

    await t.client.put("json", JSON.stringify({ a: [1, 2] }));
    expect((await t.client.get("json")).first?.json()).toEqual({ a: [1, 2] });

    const del = await t.client.delete("magic", { prevKv: true });
    expect(del.deleted).toBe(1n);
    expect(del.prevKvs[0]?.text()).toBe("hello");
    expect((await t.client.get("magic")).first).toBeUndefined();
  });

  it("reads ranges with every option", async () => {
    for (const k of ["r/a", "r/b", "r/c", "r/d"]) await t.client.put(k, `v-${k}`);
    const afterB = (await t.client.get("r/b")).first?.modRevision ?? 0n;

    const prefix = await t.client.get("r/", { prefix: true });
    expect(prefix.kvs.map((kv) => kv.keyText)).toEqual(["r/a", "r/b", "r/c", "r/d"]);
    const range = await t.client.get("r/b", { rangeEnd: "r/d" });
    expect(range.kvs.map((kv) => kv.keyText)).toEqual(["r/b", "r/c"]);
    const from = await t.client.get("r/c", { fromKey: true });
    expect(from.kvs.map((kv) => kv.keyText)).toContain("r/d");
    const limited = await t.client.get("r/", { prefix: true, limit: 2 });
    expect(limited.kvs).toHaveLength(2);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(4n);
    const sorted = await t.client.get("r/", {
      prefix: true,
      sort: { target: "key", order: "descend" },
    });
    expect(sorted.kvs.map((kv) => kv.keyText)).toEqual(["r/d", "r/c", "r/b", "r/a"]);
    const keysOnly = await t.client.get("r/a", { keysOnly: true });
    expect(keysOnly.first?.value).toHaveLength(0);
    const countOnly = await t.client.get("r/", { prefix: true, countOnly: true });
    expect(countOnly.kvs).toHaveLength(0);
    expect(countOnly.count).toBe(4n);
    const serializable = await t.client.get("r/a", { serializable: true });
    expect(serializable.first?.text()).toBe("v-r/a");
    const newer = await t.client.get("r/", { prefix: true, minModRevision: afterB });
    expect(newer.kvs.map((kv) => kv.keyText)).toEqual(["r/b", "r/c", "r/d"]);
    const older = await t.client.get("r/", { prefix: true, maxCreateRevision: afterB });
    expect(older.kvs.map((kv) => kv.keyText)).toEqual(["r/a", "r/b"]);

    await t.client.put("r/a", "changed");
    const atOld = await t.client.get("r/a", { revision: afterB });
    expect(atOld.first?.text()).toBe("v-r/a");
  });

  it("puts with prevKv, ignoreValue and ignoreLease", async () => {
    await t.client.put("p", "one");
    const second = await t.client.put("p", "two", { prevKv: true });
    expect(second.prevKv?.text()).toBe("one");
    // ignoreValue/ignoreLease on a key without a lease: etcd keeps the value, and answers.
    await t.client.put("p", "three", { ignoreLease: true });
    expect((await t.client.get("p")).first?.text()).toBe("three");
    await expect(t.client.put("p", "", { ignoreValue: true })).resolves.toBeDefined();
    expect((await t.client.get("p")).first?.text()).toBe("three");
  });

  it("runs a txn with then, else and a nested txn, once however often awaited", async () => {
    const created = etcdTxnCreate(t.client, "t/lock", "me");
    const first = await created.commit();
    expect(first.succeeded).toBe(true);
    expect(first.responses[0]?.type).toBe("put");
    const again = await created.commit();
    expect(again).toBe(first);
    // A plain-JavaScript await of the builder commits too, and still only once.
    const awaited = await (created as unknown as PromiseLike<unknown>);
    expect(awaited).toBe(first);
    expect(() => created.then(op.put("t/late", "x"))).toThrow(/after it was sent/);
    expect((await t.client.get("t/lock")).first?.version).toBe(1n);

    const lost = await etcdTxnCreate(t.client, "t/lock", "you").commit();
    expect(lost.succeeded).toBe(false);
    const read = lost.responses[0];
    expect(read?.type === "get" && read.first?.text()).toBe("me");

    const nested = await t.client
      .txn()
      .if(compare.value("t/lock", "=", "me"), compare.modRevision("t/lock", ">", 0))
      .then(
        op.txn({
          compare: [compare.createRevision("t/other", "=", 0)],
          success: [op.put("t/other", "x")],
          failure: [op.delete("t/other")],
        }),
        op.get("t/", { prefix: true, countOnly: true }),
      )
      .commit();
    expect(nested.succeeded).toBe(true);
    const inner = nested.responses[0];
    expect(inner?.type).toBe("txn");
    expect(inner?.type === "txn" && inner.succeeded).toBe(true);
    const count = nested.responses[1];
    expect(count?.type === "get" && count.count).toBe(2n);

    const lease = await t.client
      .txn()
      .if(
        compare.lease("t/lock", "=", 0),
        compare.version("t/lock", "!=", 5),
        compare.value("t/lock", "<", "z"),
      )
      .then(op.get("t/lock"))
      .commit();
    expect(lease.succeeded).toBe(true);
  });

  it("compacts, and a read below the compaction is a 'compacted' GrpcError", async () => {
    const a = await t.client.put("c", "1");
    const b = await t.client.put("c", "2");
    await t.client.compact(b.header.revision);
    const err = await t.client.get("c", { revision: a.header.revision }).catch((e) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err.reason).toBe("compacted");
    const future = await t.client.get("c", { revision: 1n << 40n }).catch((e) => e);
    expect(future).toBeInstanceOf(GrpcError);
    expect(future.reason).toBe("future-revision");
  });

  it("refuses bad input before sending", async () => {
    await expect(t.client.put("", "x")).rejects.toThrow(InvalidInputError);
    await expect(t.client.get("")).rejects.toThrow(InvalidInputError);
    await expect(t.client.put("big", new Uint8Array(1.5 * 1024 * 1024))).rejects.toThrow(
      /request limit/,
    );
    await expect(t.client.get("k", { limit: -1 })).rejects.toThrow(InvalidInputError);
    await expect(t.client.get("k", { prefix: true, fromKey: true })).rejects.toThrow(/only one of/);
    await expect(t.client.put("k", 5 as unknown as string)).rejects.toThrow(
      /string or a Uint8Array/,
    );
    expect((await t.client.get("big")).first).toBeUndefined();
  });

  it("gives a ContextError for an aborted signal and a passed deadline", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("user left"));
    const canceled = await t.client.get("x", { signal: ctl.signal }).catch((e) => e);
    expect(canceled).toBeInstanceOf(ContextError);
    expect(canceled.reason).toBe("canceled");
    t.etcd.member(0).pause();
    try {
      const late = await t.client.get("x", { timeoutMs: 300 }).catch((e) => e);
      expect(late).toBeInstanceOf(ContextError);
      expect(late.reason).toBe("deadline-exceeded");
    } finally {
      t.etcd.member(0).resume();
    }
  });
});

function etcdTxnCreate(client: Etcd, key: string, value: string) {
  return client
    .txn()
    .if(compare.version(key, "=", 0))
    .then(op.put(key, value))
    .else(op.get(key));
}

describe("construction", () => {
  it("refuses invalid endpoints and protocols", () => {
    expect(() => new Etcd({ endpoints: [] })).toThrow(InvalidInputError);
    expect(() => new Etcd({ endpoints: ["127.0.0.1:2379"] })).toThrow(/http/);
    expect(() => new Etcd({ endpoints: ["http://u:p@127.0.0.1:2379"] })).toThrow(/credentials/);
    expect(
      () => new Etcd({ endpoints: ["http://127.0.0.1:1"], protocol: "carrier-pigeon" as Protocol }),
    ).toThrow(/unknown protocol/);
  });

  it("gives a ClusterError listing each endpoint when none answers", async () => {
    const c = new Etcd({
      endpoints: ["http://127.0.0.1:1", "http://127.0.0.1:2"],
      health: false,
      retry: { maxAttempts: 2 },
    });
    try {
      const err = await c.get("k").catch((e) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.errors.map((f: { endpoint: string }) => f.endpoint)).toEqual([
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
      ]);
      // A put that was never sent (connection refused) may fail over too, and is not applied.
      const put = await c.put("k", enc("v")).catch((e) => e);
      expect(put).toBeInstanceOf(ClusterError);
      expect(put.maybeApplied).toBe(false);
    } finally {
      await c.close();
    }
  });
});
