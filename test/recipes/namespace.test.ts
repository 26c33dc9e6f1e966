import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compare, Etcd, InvalidInputError, op, type WatchEvent } from "../../src/node.js";
import { Election, Mutex, Namespace, runStm, Session } from "../../src/recipes/index.js";
import { EtcdCluster } from "../harness/etcd.js";
import { Etcdctl, killAllEtcdctl } from "./etcdctl.js";

let cluster: EtcdCluster;
let etcd: Etcd;
let ns: Namespace;

beforeAll(async () => {
  cluster = await EtcdCluster.start();
  etcd = new Etcd({ endpoints: cluster.endpoints, health: false });
  ns = new Namespace(etcd, "app/");
  // Neighbours on either side of the prefix, which the namespace must never touch.
  await etcd.put("app", "outside");
  await etcd.put("app.", "outside"); // "." sorts just before "/"
  await etcd.put("app0", "outside"); // "0" sorts just after "/"
  await etcd.put("zzz", "outside");
});
afterEach(() => killAllEtcdctl());
afterAll(async () => {
  await etcd?.close();
  await cluster?.stop();
});

const keys = (kvs: { keyText: string }[]) => kvs.map((kv) => kv.keyText);
const outside = async () =>
  (await etcd.get("", { prefix: true })).kvs.filter((kv) => kv.text() === "outside").length;

describe("namespace", () => {
  it("puts and gets under the prefix, with keys stripped, in every range form", async () => {
    const put = await ns.put("a", "1");
    expect(put.prevKv).toBeUndefined();
    expect((await ns.put("a", "1b", { prevKv: true })).prevKv?.keyText).toBe("a");
    await ns.put("b/1", "2");
    await ns.put("b/2", "3");
    await ns.put("c", "4");
    expect((await etcd.get("app/a")).first?.text()).toBe("1b");
    expect((await ns.get("a")).first?.keyText).toBe("a");
    expect(keys((await ns.get("b/", { prefix: true })).kvs)).toEqual(["b/1", "b/2"]);
    expect(keys((await ns.get("", { prefix: true })).kvs)).toEqual(["a", "b/1", "b/2", "c"]);
    expect(keys((await ns.get("b/2", { fromKey: true })).kvs)).toEqual(["b/2", "c"]);
    expect(keys((await ns.get("a", { rangeEnd: "b/2" })).kvs)).toEqual(["a", "b/1"]);
    expect((await ns.get("", { prefix: true, countOnly: true })).count).toBe(4n);
    const last = await ns.get("", {
      prefix: true,
      sort: { target: "key", order: "descend" },
      limit: 1,
    });
    expect(last.first?.keyText).toBe("c");
    expect(last.more).toBe(true);
    await expect(ns.get("")).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ns.put("", "x")).rejects.toBeInstanceOf(InvalidInputError);
    expect(() => new Namespace(etcd, "")).toThrow(InvalidInputError);
  });

  it("deletes only inside the prefix, returning stripped keys", async () => {
    const scratch = new Namespace(etcd, "app/del/");
    await scratch.put("x", "1");
    await scratch.put("y", "2");
    const one = await scratch.delete("x", { prevKv: true });
    expect(keys(one.prevKvs)).toEqual(["x"]);
    const before = await outside();
    const all = await scratch.delete("", { prefix: true, prevKv: true });
    expect(keys(all.prevKvs)).toEqual(["y"]);
    expect(await outside()).toBe(before);
    expect((await etcd.get("app/a")).first).toBeDefined();
  });

  it("runs txns with comparisons, operations and nested txns under the prefix", async () => {
    await ns.put("t/k", "v");
    const r = await ns
      .txn()
      .if(compare.value("t/k", "=", "v"), compare.version("t/none", "=", 0))
      .then(
        op.put("t/k", "w", { prevKv: true }),
        op.get("t/", { prefix: true }),
        op.txn({
          compare: [compare.createRevision("t/k", ">", 0)],
          success: [op.put("t/nested", "n"), op.delete("t/none", { prevKv: true })],
        }),
      )
      .else(op.get("t/k"))
      .commit();
    expect(r.succeeded).toBe(true);
    const [put, get, nested] = r.responses;
    expect(put?.type === "put" && put.prevKv?.keyText).toBe("t/k");
    expect(get?.type === "get" && keys(get.kvs)).toEqual(["t/k"]);
    expect(nested?.type === "txn" && nested.succeeded).toBe(true);
    expect((await etcd.get("app/t/nested")).first?.text()).toBe("n");

    // Comparisons on a range stay inside the prefix: "every key has version > 0" holds.
    const all = await ns
      .txn()
      .if(compare.version("", ">", 0, { prefix: true }))
      .else(op.get("t/k"))
      .commit();
    expect(all.succeeded).toBe(true);
    const failed = await ns
      .txn()
      .if(compare.value("t/k", "=", "v"))
      .else(op.get("t/k"))
      .commit();
    expect(failed.succeeded).toBe(false);
    const [got] = failed.responses;
    expect(got?.type === "get" && got.first?.keyText).toBe("t/k");
  });

  it("watches inside the prefix, with keys stripped", async () => {
    const w = ns.watch("", { prefix: true, prevKv: true });
    const from = ns.watch("w/b", { fromKey: true });
    const events: WatchEvent[] = [];
    const collected = (async () => {
      for await (const res of w) {
        events.push(...res.events);
        if (events.length >= 3) break;
      }
    })();
    const fromEvents: string[] = [];
    const collectedFrom = (async () => {
      for await (const res of from) {
        fromEvents.push(...res.events.map((e) => e.kv.keyText));
        if (fromEvents.length >= 1) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await etcd.put("app0", "outside");
    await etcd.put("app.", "outside");
    await ns.put("w/a", "1");
    await ns.put("w/b", "2");
    await ns.delete("w/a");
    await Promise.all([collected, collectedFrom]);
    expect(events.map((e) => `${e.type} ${e.kv.keyText}`)).toEqual([
      "put w/a",
      "put w/b",
      "delete w/a",
    ]);
    expect(events[2]?.prevKv?.keyText).toBe("w/a");
    expect(fromEvents).toEqual(["w/b"]);
    expect(w.state).toBe("closed");
  });

  it("binds puts to leases, and lists only its own keys of a lease", async () => {
    const lease = await ns.lease.grant(30);
    await ns.put("l/k", "v", { lease: lease.id });
    await etcd.put("elsewhere", "v", { lease: lease.id });
    expect((await ns.get("l/k")).first?.lease).toBe(lease.id);
    const ttl = await ns.lease.timeToLive(lease.id, { keys: true });
    expect(ttl.keys.map((k) => new TextDecoder().decode(k))).toEqual(["l/k"]);
    await ns.lease.revoke(lease.id);
    expect((await ns.get("l/k")).first).toBeUndefined();
  });

  it("nests, and runs STM inside the prefix", async () => {
    const inner = new Namespace(ns, "inner/");
    await inner.put("n", "1");
    expect((await etcd.get("app/inner/n")).first?.text()).toBe("1");
    await runStm(inner, async (stm) => {
      stm.put("n", String(Number(await stm.getText("n")) + 1));
    });
    expect((await etcd.get("app/inner/n")).first?.text()).toBe("2");
  });
});

describe("lock and election on a namespace", () => {
  it("locks the same lock as etcdctl on the full name", async () => {
    const ctl = new Etcdctl(cluster.endpoints, ["lock", "app/locks/l"]);
    await ctl.waitFor((out) => out.includes("app/locks/l/"));
    const s = await Session.create(ns);
    const m = new Mutex(s, "locks/l");
    expect(await m.tryLock()).toBe(false);
    const locked = m.lock();
    await ctl.interrupt();
    await locked;
    expect(m.keyText).toBe(`locks/l/${s.lease.toString(16)}`);
    expect((await etcd.get("app/locks/l/", { prefix: true })).first?.keyText).toBe(
      `app/${m.keyText}`,
    );
    await m.unlock();
    await s.close();
  });

  it("campaigns in the election that the full name shows", async () => {
    const s = await Session.create(ns);
    await new Election(s, "elections/e").campaign("in-ns");
    const full = await new Election(etcd, "app/elections/e").leader();
    expect(full?.kv.keyText).toBe(`app/elections/e/${s.lease.toString(16)}`);
    expect(full?.kv.text()).toBe("in-ns");
    const listen = new Etcdctl(cluster.endpoints, ["elect", "-l", "app/elections/e"]);
    await listen.waitFor((out) => out.includes("in-ns"));
    expect((await new Election(ns, "elections/e").leader())?.kv.keyText).toBe(
      `elections/e/${s.lease.toString(16)}`,
    );
    await s.close();
  });
});
