import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd } from "../../src/node.js";
import {
  ConcurrencyError,
  type Isolation,
  type KvClient,
  runStm,
} from "../../src/recipes/index.js";
import { EtcdCluster } from "../harness/etcd.js";

let cluster: EtcdCluster;
let etcd: Etcd;

beforeAll(async () => {
  cluster = await EtcdCluster.start();
  etcd = new Etcd({ endpoints: cluster.endpoints, health: false });
});
afterAll(async () => {
  await etcd?.close();
  await cluster?.stop();
});

/** The client, counting its txns (every STM read and commit is one). */
function countingTxns(c: Etcd): { client: KvClient; txns: () => number } {
  let n = 0;
  const client: KvClient = {
    get: (k, o) => c.get(k, o),
    put: (k, v, o) => c.put(k, v, o),
    delete: (k, o) => c.delete(k, o),
    watch: (k, o) => c.watch(k, o),
    lease: c.lease,
    txn: (o) => {
      n++;
      return c.txn(o);
    },
  };
  return { client, txns: () => n };
}

const guarded: Isolation[] = ["serializable-snapshot", "serializable", "repeatable-reads"];

describe.each(guarded)("stm, %s", (isolation) => {
  it("ends 20 concurrent increments of one counter at exactly 20", async () => {
    const key = `counter/${isolation}`;
    // Each failed attempt of one increment is caused by a commit of another, so 20 attempts
    // are always enough for 20 increments.
    const runs = await Promise.all(
      Array.from({ length: 20 }, () =>
        runStm(
          etcd,
          async (stm) => {
            const n = Number((await stm.getText(key)) ?? "0");
            stm.put(key, String(n + 1));
            return n + 1;
          },
          { isolation, maxAttempts: 20 },
        ),
      ),
    );
    expect((await etcd.get(key)).first?.text()).toBe("20");
    expect(runs.map((r) => r.value).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(runs.some((r) => r.attempts > 1)).toBe(true);
  });

  it("runs again when a key it read changed before the commit", async () => {
    const base = `rw/${isolation}`;
    await etcd.put(`${base}/x`, "1");
    let calls = 0;
    const r = await runStm(
      etcd,
      async (stm) => {
        calls++;
        const x = await stm.getText(`${base}/x`);
        if (calls === 1) await etcd.put(`${base}/x`, "2");
        stm.put(`${base}/y`, `copy of ${x}`);
      },
      { isolation },
    );
    expect(r.attempts).toBe(2);
    expect((await etcd.get(`${base}/y`)).first?.text()).toBe("copy of 2");
  });
});

describe("stm isolation levels", () => {
  it("read-committed never conflicts", async () => {
    await etcd.put("rc/x", "1");
    let calls = 0;
    const r = await runStm(
      etcd,
      async (stm) => {
        calls++;
        const x = await stm.getText("rc/x");
        if (calls === 1) await etcd.put("rc/x", "2");
        stm.put("rc/y", `copy of ${x}`);
      },
      { isolation: "read-committed" },
    );
    expect(r.attempts).toBe(1);
    expect((await etcd.get("rc/y")).first?.text()).toBe("copy of 1");
  });

  it("serializable levels read one snapshot; repeatable-reads reads each key when first read", async () => {
    const seen: Record<string, string[]> = {};
    for (const isolation of [
      "serializable-snapshot",
      "serializable",
      "repeatable-reads",
    ] as const) {
      const base = `snap/${isolation}`;
      await etcd.put(`${base}/a`, "a1");
      await etcd.put(`${base}/b`, "b1");
      const values: string[] = [];
      let calls = 0;
      await runStm(
        etcd,
        async (stm) => {
          calls++;
          const a = await stm.getText(`${base}/a`);
          if (calls === 1) await etcd.put(`${base}/b`, "b2");
          values.push(`${a} ${await stm.getText(`${base}/b`)}`);
        },
        { isolation },
      );
      seen[isolation] = values;
    }
    // The snapshot saw b1, which changed before the commit: a second attempt sees b2.
    expect(seen["serializable-snapshot"]).toEqual(["a1 b1", "a1 b2"]);
    expect(seen.serializable).toEqual(["a1 b1", "a1 b2"]);
    expect(seen["repeatable-reads"]).toEqual(["a1 b2"]);
  });

  it("serializable-snapshot also conflicts on a key written after its snapshot; serializable does not", async () => {
    const attempts: Record<string, number> = {};
    for (const isolation of ["serializable-snapshot", "serializable"] as const) {
      const base = `ww/${isolation}`;
      await etcd.put(`${base}/r`, "r");
      let calls = 0;
      const r = await runStm(
        etcd,
        async (stm) => {
          calls++;
          await stm.get(`${base}/r`);
          if (calls === 1) await etcd.put(`${base}/w`, "theirs");
          stm.put(`${base}/w`, "ours");
        },
        { isolation },
      );
      attempts[isolation] = r.attempts;
      expect((await etcd.get(`${base}/w`)).first?.text()).toBe("ours");
    }
    expect(attempts).toEqual({ "serializable-snapshot": 2, serializable: 1 });
  });
});

describe("stm", () => {
  it("sees its own writes and deletes, and reads prefetched keys in one round trip", async () => {
    const putA = await etcd.put("own/a", "1");
    await etcd.put("own/b", "2");
    const { client, txns } = countingTxns(etcd);
    const r = await runStm(
      client,
      async (stm) => {
        const sum = Number(await stm.getText("own/a")) + Number(await stm.getText("own/b"));
        const rev = await stm.rev("own/a");
        stm.put("own/sum", String(sum));
        stm.delete("own/a");
        return { sum, rev, sumNow: await stm.getText("own/sum"), aNow: await stm.get("own/a") };
      },
      { prefetch: ["own/a", "own/b"] },
    );
    expect(r.value.sum).toBe(3);
    expect(r.value.rev).toBe(putA.header.revision);
    expect(r.value.sumNow).toBe("3");
    expect(r.value.aNow).toBeUndefined();
    expect(txns()).toBe(2); // one read of both keys, one commit
    expect((await etcd.get("own/a")).first).toBeUndefined();
    expect((await etcd.get("own/sum")).first?.text()).toBe("3");
    expect(await runStm(etcd, async (stm) => stm.rev("own/missing"))).toMatchObject({ value: 0n });
  });

  it("gives up after maxAttempts conflicts, writing nothing", async () => {
    await etcd.put("busy/x", "0");
    let n = 0;
    const err = await runStm(
      etcd,
      async (stm) => {
        await stm.get("busy/x");
        await etcd.put("busy/x", String(++n));
        stm.put("busy/y", "never");
      },
      { maxAttempts: 3 },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err.reason).toBe("too-many-conflicts");
    expect(n).toBe(3);
    expect((await etcd.get("busy/y")).first).toBeUndefined();
  });

  it("ends with apply's error, writing nothing", async () => {
    const boom = new Error("boom");
    const err = await runStm(etcd, async (stm) => {
      stm.put("err/y", "never");
      throw boom;
    }).catch((e) => e);
    expect(err).toBe(boom);
    expect((await etcd.get("err/y")).first).toBeUndefined();
  });
});
