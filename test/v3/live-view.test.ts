// Live views against real etcd, on every protocol: after bursts of writes, a disconnection
// during which etcd compacted past the view, and a member restart, the view holds exactly
// what a fresh get of its prefix returns.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  compare,
  type Etcd,
  type LiveChange,
  type LiveSnapshot,
  type LiveView,
  Etcd as NodeEtcd,
  op,
  type Protocol,
} from "../../src/node.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { onProtocol, protocolEndpoints } from "./protocols.js";

/** Resolves once pred holds for the view's snapshot; fails with what the view shows after timeoutMs. */
function until(
  view: LiveView,
  pred: (s: LiveSnapshot) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => {
      off();
      const s = view.getSnapshot();
      reject(
        new Error(
          `${what}: not within ${timeoutMs} ms (view ${s.state} at revision ${s.revision}, ${s.size} keys, error ${String(s.error)})`,
        ),
      );
    }, timeoutMs);
    off = view.subscribe((s) => {
      if (!pred(s)) {
        if (s.state === "failed" || s.state === "closed") {
          clearTimeout(timer);
          queueMicrotask(() => off());
          reject(new Error(`${what}: the view ended ${s.state} (${String(s.error)})`));
        }
        return;
      }
      clearTimeout(timer);
      // subscribe calls at once: off is not set yet on that first call.
      queueMicrotask(() => off());
      resolve();
    });
  });
}

type Row = [
  key: string,
  value: string,
  create: bigint,
  mod: bigint,
  version: bigint,
  lease: bigint,
];
const rows = (
  kvs: readonly {
    keyText: string;
    text(): string;
    createRevision: bigint;
    modRevision: bigint;
    version: bigint;
    lease: bigint;
  }[],
): Row[] =>
  kvs.map((kv) => [kv.keyText, kv.text(), kv.createRevision, kv.modRevision, kv.version, kv.lease]);

/** Waits until the view reached revision, then checks it key for key against a get at it. */
async function expectEqualsGet(etcd: Etcd, view: LiveView, prefix: string, revision: bigint) {
  await until(view, (s) => s.revision >= revision, `the view reaching revision ${revision}`);
  const s = view.getSnapshot();
  const fresh = await etcd.get(prefix, { prefix: true, revision: s.revision });
  expect(rows(s.values())).toEqual(rows(fresh.kvs));
  return s;
}

/**
 * A map fed only by the view's change events, to check that none is lost or repeated. A
 * listener's throw would only be reported, so mismatches are collected in `problems`.
 */
function mirror(view: LiveView): { keys: Map<string, string>; resets: number; problems: string[] } {
  const texts = () => new Map(view.values().map((kv) => [kv.keyText, kv.text()]));
  const m = { keys: texts(), resets: 0, problems: [] as string[] };
  view.onChange((c: LiveChange) => {
    if (c.type === "reset") {
      m.resets++;
      m.keys = texts();
      return;
    }
    const k = c.kv.keyText;
    if (m.keys.get(k) !== c.prevKv?.text()) {
      m.problems.push(`${c.type} ${k}: prevKv ${c.prevKv?.text()}, mirror ${m.keys.get(k)}`);
    }
    if (c.type === "put") m.keys.set(k, c.kv.text());
    else m.keys.delete(k);
  });
  return m;
}

const asMap = (s: LiveSnapshot) => new Map(s.values().map((kv) => [kv.keyText, kv.text()]));

describe.each(protocolEndpoints.names)("live view over %s", (protocol: Protocol) => {
  const t = onProtocol(protocol);
  // The view's client reaches etcd (or the bridge) through a proxy whose link the test cuts;
  // t.client writes past it.
  let proxy: TcpProxy;
  let client: Etcd;
  const views: LiveView[] = [];
  beforeAll(async () => {
    proxy = await TcpProxy.start(t.endpoints[0] ?? "");
    client = new NodeEtcd({ endpoints: [proxy.url], protocol, health: false });
  });
  afterEach(() => {
    for (const v of views.splice(0)) v.close();
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });
  const live = (prefix: string, pageSize?: number) => {
    const v = client.live(prefix, pageSize === undefined ? {} : { pageSize });
    views.push(v);
    return v;
  };

  it("equals a fresh get after bursts of puts and deletes", async () => {
    const key = (i: number) => `lv1/${String(i).padStart(3, "0")}`;
    for (let i = 0; i < 40; i++) await t.client.put(key(i), `initial ${i}`);
    await t.client.put("lv10", "outside the prefix");
    // Pages of 7: the first listing takes six gets at one revision.
    const view = live("lv1/", 7);
    await view.ready({ timeoutMs: 20_000 });
    expect(view.size).toBe(40);
    await expectEqualsGet(t.client, view, "lv1/", view.revision);
    const m = mirror(view);

    let last = 0n;
    for (let burst = 0; burst < 5; burst++) {
      const ops = Array.from({ length: 30 }, (_, j) => {
        const i = (burst * 17 + j * 7) % 60;
        return j % 3 === 2 ? t.client.delete(key(i)) : t.client.put(key(i), `b${burst} ${j}`);
      });
      for (const r of await Promise.all(ops))
        if (r.header.revision > last) last = r.header.revision;
      // A transaction's events arrive in one response.
      const txn = await t.client
        .txn()
        .if(compare.version(key(999), "=", 0))
        .then(op.put(key(100 + burst), "txn"), op.delete(key(1)), op.put(key(2), `txn ${burst}`))
        .commit();
      if (txn.header.revision > last) last = txn.header.revision;
    }
    const s = await expectEqualsGet(t.client, view, "lv1/", last);
    expect(m.keys).toEqual(asMap(s));
    expect(m.problems).toEqual([]);
    expect(m.resets).toBe(0);
    expect(s.get("lv10")).toBeUndefined();
  });

  it("lists again and emits reset when etcd compacted past it while it was cut off", async () => {
    for (let i = 0; i < 10; i++) await t.client.put(`lv2/${i}`, `v${i}`);
    const view = live("lv2/");
    await view.ready({ timeoutMs: 20_000 });
    const m = mirror(view);
    const seen = await t.client.put("lv2/0", "seen");
    await expectEqualsGet(t.client, view, "lv2/", seen.header.revision);

    const states: string[] = [];
    view.onStateChange((s) => states.push(s));
    proxy.cut();
    await until(view, (s) => s.state === "reconnecting", "the view noticing the cut");
    const before = view.revision;
    await t.client.put("lv2/0", "while cut off");
    await t.client.delete("lv2/1");
    await t.client.put("lv2/new", "while cut off");
    const latest = await t.client.put("lv2/2", "while cut off");
    await t.client.compact(latest.header.revision, { physical: true });
    expect(latest.header.revision).toBeGreaterThan(before + 1n);
    proxy.restore();
    await until(view, (v) => m.resets === 1 && v.state === "watching", "a reset, then watching");
    expect(view.error).toBeUndefined();
    const s = await expectEqualsGet(t.client, view, "lv2/", latest.header.revision);
    expect(s.get("lv2/1")).toBeUndefined();
    expect(s.get("lv2/new")?.text()).toBe("while cut off");
    expect(states).toContain("relisting");
    expect(states[states.length - 1]).toBe("watching");
    expect(m.resets).toBe(1);

    // And it goes on watching after the reset.
    const after = await t.client.put("lv2/after", "reset");
    const s2 = await expectEqualsGet(t.client, view, "lv2/", after.header.revision);
    expect(m.keys).toEqual(asMap(s2));
    expect(m.problems).toEqual([]);
  });

  it("equals a fresh get after its member restarts", async () => {
    for (let i = 0; i < 10; i++) await t.client.put(`lv3/${i}`, `v${i}`);
    const view = live("lv3/");
    await view.ready({ timeoutMs: 20_000 });
    const m = mirror(view);
    const states: string[] = [];
    view.onStateChange((s) => states.push(s));
    await t.client.put("lv3/0", "before restart");
    await t.etcd.member(0).restart();
    await until(
      view,
      (s) => s.state === "watching" && states.includes("reconnecting"),
      "the view resuming",
    );
    await t.client.delete("lv3/1");
    const last = await t.client.put("lv3/9", "after restart");
    const s = await expectEqualsGet(t.client, view, "lv3/", last.header.revision);
    expect(s.get("lv3/0")?.text()).toBe("before restart");
    expect(m.keys).toEqual(asMap(s));
    expect(m.problems).toEqual([]);
    // Nothing was compacted: the watch resumed where it was, without a relisting.
    expect(m.resets).toBe(0);
  });
});
