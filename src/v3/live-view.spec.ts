import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FakeClock, flush } from "../../test/fakes/fake-clock.js";
import { ClusterError, ContextError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { WatchResponseSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType, KeyValueSchema } from "../gen/mvccpb/kv_pb.js";
import { type Bytes, toText } from "../internal/bytes.js";
import { KeyValue } from "./key-value.js";
import type { GetResult, RangeOptions } from "./kv.js";
import {
  type LiveChange,
  type LiveSnapshot,
  type LiveSource,
  LiveView,
  type LiveViewOptions,
  type LiveViewState,
} from "./live-view.js";
import { Watcher, type WatchOptions } from "./watcher.js";

const enc = (s: string) => new TextEncoder().encode(s);
const header = (revision: bigint) => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n });
const pbKv = (key: string, value: string, rev: bigint) => ({
  key: enc(key),
  value: enc(value),
  modRevision: rev,
  createRevision: rev,
  version: 1n,
});
const put = (key: string, value: string, rev: bigint) => ({
  type: Event_EventType.PUT,
  kv: pbKv(key, value, rev),
});
const del = (key: string, rev: bigint) => ({
  type: Event_EventType.DELETE,
  kv: { key: enc(key), modRevision: rev },
});
const events = (...evs: Array<ReturnType<typeof put> | ReturnType<typeof del>>) =>
  create(WatchResponseSchema, {
    header: header(evs[evs.length - 1]?.kv.modRevision ?? 0n),
    events: evs,
  });
const progress = (rev: bigint) => create(WatchResponseSchema, { header: header(rev) });
const compacted = () =>
  new GrpcError(Code.OutOfRange, "etcdserver: mvcc: required revision has been compacted", {
    reason: "compacted",
    compactRevision: 99n,
  });
const unreachable = () =>
  new ClusterError([{ endpoint: "http://e1", error: new Error("connection refused") }]);

interface GetCall {
  key: string;
  rangeEnd: string;
  limit: bigint | number | undefined;
  revision: bigint | number | undefined;
  serializable: boolean | undefined;
}

/**
 * A fake etcd for the view: get() pages through `keys` (sorted) at `revision`, watch() makes a
 * real Watcher that the test drives through its stream-side methods. `failGet` answers the
 * next get calls with errors, in order.
 */
class FakeEtcd implements LiveSource {
  keys = new Map<string, string>();
  revision = 10n;
  gets: GetCall[] = [];
  failGet: unknown[] = [];
  watchers: Array<{ w: Watcher; options: WatchOptions }> = [];

  async get(key: Bytes, o: RangeOptions & { signal?: AbortSignal }): Promise<GetResult> {
    const k = typeof key === "string" ? key : toText(key);
    const end = o.rangeEnd === undefined ? "" : toText(o.rangeEnd as Uint8Array);
    this.gets.push({
      key: k,
      rangeEnd: end,
      limit: o.limit,
      revision: o.revision,
      serializable: o.serializable,
    });
    await flush();
    const failure = this.failGet.shift();
    if (failure) throw failure;
    const all = [...this.keys].filter(([x]) => x >= k && (end === "\0" || x < end)).sort();
    const limit = Number(o.limit ?? 0) || all.length;
    const page = all.slice(0, limit);
    const kvs = page.map(([x, v]) => new KeyValue(create(KeyValueSchema, pbKv(x, v, 5n))));
    return {
      header: { ...header(this.revision) },
      kvs,
      more: all.length > limit,
      count: BigInt(all.length),
      first: kvs[0],
    };
  }

  watch(key: Bytes, options: WatchOptions): Watcher {
    const w = new Watcher(key, options);
    w.attach({ remove: () => {} });
    this.watchers.push({ w, options });
    return w;
  }

  /** The newest watcher, created at the view's start revision. */
  confirm(): Watcher {
    const w = this.last();
    w.created(create(WatchResponseSchema, { header: header(this.revision), created: true }));
    return w;
  }

  last(): Watcher {
    const w = this.watchers[this.watchers.length - 1]?.w;
    if (!w) throw new Error("no watch was opened");
    return w;
  }
}

async function started(options: LiveViewOptions = {}, keys: Record<string, string> = {}) {
  const etcd = new FakeEtcd();
  for (const [k, v] of Object.entries({ "app/a": "1", "app/b": "2", ...keys })) etcd.keys.set(k, v);
  const view = new LiveView(etcd, "app/", options);
  const states: LiveViewState[] = [];
  view.onStateChange((s) => states.push(s));
  const changes: LiveChange[] = [];
  view.onChange((c) => changes.push(c));
  await flush();
  await flush();
  etcd.confirm();
  await view.ready({ timeoutMs: 1000 });
  return { etcd, view, states, changes };
}

const texts = (view: { values(): readonly KeyValue[] }) =>
  view.values().map((kv) => `${kv.keyText}=${kv.text()}`);

describe("LiveView", () => {
  it("lists the prefix, then watches it from the listing's revision + 1", async () => {
    const { etcd, view, states } = await started();
    expect(etcd.gets).toEqual([
      { key: "app/", rangeEnd: "app0", limit: 1000, revision: 0n, serializable: undefined },
    ]);
    expect(etcd.watchers).toHaveLength(1);
    expect(etcd.watchers[0]?.options).toMatchObject({
      prefix: true,
      startRevision: 11n,
      progressNotify: true,
    });
    expect(states).toEqual(["watching"]);
    expect(view.state).toBe("watching");
    expect(view.revision).toBe(10n);
    expect(view.size).toBe(2);
    expect(view.get("app/a")?.text()).toBe("1");
    expect(view.get(enc("app/b"))).toBeInstanceOf(KeyValue);
    expect(texts(view)).toEqual(["app/a=1", "app/b=2"]);
  });

  it("lists a large prefix in pages at the first page's revision", async () => {
    const etcd = new FakeEtcd();
    for (const k of ["p/1", "p/2", "p/3", "p/4", "p/5"]) etcd.keys.set(k, k);
    const view = new LiveView(etcd, "p/", { pageSize: 2 });
    await flush();
    // Writes between pages move etcd's revision on; later pages stay at the first's.
    const firstRevision = etcd.revision;
    etcd.revision = 12n;
    for (let i = 0; i < 5; i++) await flush();
    etcd.confirm();
    await view.ready({ timeoutMs: 1000 });
    expect(etcd.gets.map((g) => [g.key, g.limit, g.revision])).toEqual([
      ["p/", 2, 0n],
      ["p/2\0", 2, 10n],
      ["p/4\0", 2, 10n],
    ]);
    expect(view.revision).toBe(firstRevision);
    expect(etcd.watchers[0]?.options.startRevision).toBe(11n);
    expect(view.values().map((kv) => kv.keyText)).toEqual(["p/1", "p/2", "p/3", "p/4", "p/5"]);
  });

  it("applies puts and deletes, with the value it held before as prevKv", async () => {
    const { etcd, view, changes } = await started();
    const w = etcd.last();
    w.deliver(events(put("app/c", "3", 11n), put("app/a", "1b", 12n)));
    w.deliver(events(del("app/b", 13n)));
    await flush();
    expect(changes.map((c) => (c.type === "reset" ? c.type : [c.type, c.kv.keyText]))).toEqual([
      ["put", "app/c"],
      ["put", "app/a"],
      ["delete", "app/b"],
    ]);
    const [c, a, b] = changes as Array<Extract<LiveChange, { kv: KeyValue }>>;
    expect(c?.prevKv).toBeUndefined();
    expect(a?.prevKv?.text()).toBe("1");
    expect(a?.kv.text()).toBe("1b");
    expect(b?.prevKv?.text()).toBe("2");
    expect(texts(view)).toEqual(["app/a=1b", "app/c=3"]);
    expect(view.revision).toBe(13n);
  });

  it("advances its revision with progress notifications", async () => {
    const { etcd, view, changes } = await started();
    etcd.last().deliver(progress(40n));
    await flush();
    expect(view.revision).toBe(40n);
    expect(view.getSnapshot().revision).toBe(40n);
    expect(changes).toEqual([]);
  });

  describe("getSnapshot (React's useSyncExternalStore)", () => {
    it("is the same object until a change, and a snapshot never changes", async () => {
      const { etcd, view } = await started();
      const { getSnapshot } = view; // React calls it detached
      const first = getSnapshot();
      expect(getSnapshot()).toBe(first);
      expect(view.getSnapshot()).toBe(first);
      expect(first.state).toBe("watching");

      etcd.last().deliver(events(put("app/c", "3", 11n)));
      await flush();
      const second = getSnapshot();
      expect(second).not.toBe(first);
      expect(getSnapshot()).toBe(second);
      expect(texts(second)).toEqual(["app/a=1", "app/b=2", "app/c=3"]);
      // The earlier snapshot still shows what it showed: copy on write.
      expect(texts(first)).toEqual(["app/a=1", "app/b=2"]);
      expect(first.get("app/c")).toBeUndefined();
      expect(first.revision).toBe(10n);
      expect(second.revision).toBe(11n);
      expect(second.values()).toBe(second.values());
      expect(Object.isFrozen(second.values())).toBe(true);
    });

    it("changes with the state", async () => {
      const { etcd, view } = await started();
      const before = view.getSnapshot();
      etcd.last().connecting(true);
      expect(view.state).toBe("reconnecting");
      const after = view.getSnapshot();
      expect(after).not.toBe(before);
      expect(after.state).toBe("reconnecting");
      expect(after.size).toBe(before.size);
    });
  });

  it("binds to React, Svelte and Vue as they call it, with their types", async () => {
    const { etcd, view } = await started();
    // React's useSyncExternalStore: render with getSnapshot(), subscribe after, re-render
    // only when a callback finds a snapshot other than the one rendered.
    const useSyncExternalStore = <S>(
      subscribe: (onStoreChange: () => void) => () => void,
      getSnapshot: () => S,
    ) => {
      const r = { rendered: getSnapshot(), renders: 1, unsubscribe: () => {} };
      r.unsubscribe = subscribe(() => {
        const next = getSnapshot();
        if (Object.is(next, r.rendered)) return;
        r.rendered = next;
        r.renders++;
      });
      return r;
    };
    const react = useSyncExternalStore(view.subscribe, view.getSnapshot);
    expect(react.renders).toBe(1); // the call at once finds the same snapshot
    // Svelte's get(store): subscribe, take the value handed over at once, unsubscribe.
    const svelte: { subscribe(this: void, run: (v: LiveSnapshot) => void): () => void } = view;
    let value: LiveSnapshot | undefined;
    svelte.subscribe((v) => {
      value = v;
    })();
    expect(value).toBe(view.getSnapshot());
    // Vue: a shallow ref set from subscribe.
    const ref = { value: view.getSnapshot() };
    const stopVue = view.subscribe((s) => {
      ref.value = s;
    });

    etcd.last().deliver(events(put("app/c", "3", 11n)));
    await flush();
    expect(react.renders).toBe(2);
    expect(react.rendered.get("app/c")?.text()).toBe("3");
    expect(ref.value).toBe(react.rendered);
    expect(value?.get("app/c")).toBeUndefined(); // Svelte's reader had unsubscribed
    react.unsubscribe();
    stopVue();
    etcd.last().deliver(events(put("app/d", "4", 12n)));
    await flush();
    expect(react.renders).toBe(2);
    expect(ref.value.get("app/d")).toBeUndefined();
  });

  describe("subscribe (the Svelte store contract)", () => {
    it("calls fn at once, after every change, and no more once unsubscribed", async () => {
      const { etcd, view } = await started();
      const { subscribe } = view; // Svelte and React may call it detached
      const seen: LiveSnapshot[] = [];
      const unsubscribe = subscribe((s) => seen.push(s));
      expect(seen).toEqual([view.getSnapshot()]);

      // One response, one call: a transaction's events land together.
      etcd.last().deliver(events(put("app/c", "3", 11n), del("app/a", 11n)));
      await flush();
      expect(seen).toHaveLength(2);
      expect(seen[1]).toBe(view.getSnapshot());
      expect(texts(seen[1] as LiveSnapshot)).toEqual(["app/b=2", "app/c=3"]);

      // A delete of a key the view does not hold changes nothing: no call, same snapshot.
      const same = view.getSnapshot();
      etcd.last().deliver(events(del("app/zz", 12n)));
      await flush();
      expect(seen).toHaveLength(2);
      expect(view.getSnapshot()).toBe(same);

      expect(typeof unsubscribe).toBe("function");
      unsubscribe();
      etcd.last().deliver(events(put("app/d", "4", 13n)));
      await flush();
      expect(seen).toHaveLength(2);
    });

    it("calls a function subscribed twice twice, and unsubscribes each on its own", async () => {
      const { etcd, view } = await started();
      let calls = 0;
      const fn = () => calls++;
      const off1 = view.subscribe(fn);
      view.subscribe(fn);
      expect(calls).toBe(2);
      off1();
      etcd.last().deliver(events(put("app/c", "3", 11n)));
      await flush();
      expect(calls).toBe(3);
    });
  });

  it("keeps going when a listener throws, and reports what it threw", async () => {
    const reported: unknown[] = [];
    const { etcd, view } = await started({ onListenerError: (e) => reported.push(e) });
    view.onChange(() => {
      throw new Error("change listener bug");
    });
    const after: string[] = [];
    view.onChange((c) => after.push(c.type));
    let subscribed = 0;
    view.subscribe(() => {
      subscribed++;
      throw new Error("subscriber bug");
    });
    etcd.last().deliver(events(put("app/c", "3", 11n)));
    etcd.last().deliver(events(put("app/d", "4", 12n)));
    await flush();
    expect(after).toEqual(["put", "put"]);
    expect(subscribed).toBe(3);
    expect(view.state).toBe("watching");
    expect(view.get("app/d")?.text()).toBe("4");
    expect(reported.map((e) => (e as Error).message)).toEqual([
      "subscriber bug",
      "change listener bug",
      "subscriber bug",
      "change listener bug",
      "subscriber bug",
    ]);
  });

  it("lists again when etcd compacted past its watch, and emits reset, not an error", async () => {
    const { etcd, view, states, changes } = await started();
    const old = etcd.last();
    old.deliver(events(put("app/c", "3", 11n)));
    await flush();
    etcd.keys.delete("app/a");
    etcd.keys.set("app/z", "26");
    etcd.revision = 120n;
    old.fail(compacted());
    for (let i = 0; i < 4; i++) await flush();
    expect(etcd.gets).toHaveLength(2);
    expect(view.state).toBe("relisting");
    expect(changes.map((c) => c.type)).toEqual(["put", "reset"]);
    expect(texts(view)).toEqual(["app/b=2", "app/z=26"]);
    expect(view.revision).toBe(120n);
    expect(etcd.watchers).toHaveLength(2);
    expect(etcd.watchers[1]?.options.startRevision).toBe(121n);
    etcd.confirm();
    await view.ready({ timeoutMs: 1000 });
    expect(states).toEqual(["watching", "relisting", "watching"]);
    expect(view.error).toBeUndefined();
  });

  it("starts a listing over when a page's revision was compacted", async () => {
    const etcd = new FakeEtcd();
    const clock = new FakeClock();
    etcd.keys.set("app/a", "1");
    etcd.failGet.push(compacted());
    const view = new LiveView(etcd, "app/", { clock });
    await clock.advance(5000);
    expect(etcd.gets).toHaveLength(2);
    etcd.confirm();
    await view.ready({ timeoutMs: 1000 });
    expect(texts(view)).toEqual(["app/a=1"]);
  });

  it("waits out unreachable members when relisting, with backoff", async () => {
    const clock = new FakeClock();
    const { etcd, view, states } = await started({ clock });
    etcd.failGet.push(unreachable(), unreachable());
    etcd.last().fail(compacted());
    // Each attempt's timer is set once its get has failed: advance in steps.
    for (let i = 0; i < 20; i++) await clock.advance(500);
    expect(view.error).toBeUndefined();
    expect(etcd.gets).toHaveLength(4);
    expect(states).toEqual(["watching", "relisting"]);
    etcd.confirm();
    await view.ready({ timeoutMs: 1000 });
  });

  it("fails when the first listing fails, and ready() rejects with why", async () => {
    const etcd = new FakeEtcd();
    const error = unreachable();
    etcd.failGet.push(error);
    const view = new LiveView(etcd, "app/");
    await expect(view.ready({ timeoutMs: 1000 })).rejects.toBe(error);
    expect(view.state).toBe("failed");
    expect(view.error).toBe(error);
    expect(view.getSnapshot().error).toBe(error);
    expect(etcd.watchers).toHaveLength(0);
  });

  it("fails when its watch fails for another reason than compaction", async () => {
    const { etcd, view, states } = await started();
    const denied = new GrpcError(Code.PermissionDenied, "etcdserver: permission denied", {
      reason: "permission-denied",
    });
    etcd.last().fail(denied);
    await flush();
    expect(view.state).toBe("failed");
    expect(view.error).toBe(denied);
    expect(states).toEqual(["watching", "failed"]);
    await expect(view.ready()).rejects.toBe(denied);
    expect(etcd.gets).toHaveLength(1);
  });

  it("follows its watch's reconnects", async () => {
    const { etcd, view, states } = await started();
    etcd.last().connecting(true);
    etcd.confirm();
    expect(states).toEqual(["watching", "reconnecting", "watching"]);
    expect(view.state).toBe("watching");
  });

  it("ends on close(): its watch closes and ready() rejects as canceled", async () => {
    const { etcd, view, states } = await started();
    const w = etcd.last();
    const seen: LiveViewState[] = [];
    view.subscribe((s) => seen.push(s.state));
    view.close();
    expect(view.state).toBe("closed");
    expect(w.state).toBe("closed");
    expect(states).toEqual(["watching", "closed"]);
    expect(seen).toEqual(["watching", "closed"]);
    const err = await view.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextError);
    expect((err as ContextError).reason).toBe("canceled");
    w.deliver(events(put("app/c", "3", 11n)));
    await flush();
    expect(view.get("app/c")).toBeUndefined();
  });

  it("ends when its signal fires, also while listing", async () => {
    const ctl = new AbortController();
    const etcd = new FakeEtcd();
    const view = new LiveView(etcd, "app/", { signal: ctl.signal });
    ctl.abort();
    expect(view.state).toBe("closed");
    for (let i = 0; i < 4; i++) await flush();
    expect(etcd.watchers).toHaveLength(0);
    expect(view.state).toBe("closed");

    const before = new AbortController();
    before.abort();
    const never = new LiveView(etcd, "app/", { signal: before.signal });
    expect(never.state).toBe("closed");
  });

  it("closes when the client closes its watch under it", async () => {
    const { etcd, view } = await started();
    etcd.last().cancel();
    await flush();
    expect(view.state).toBe("closed");
  });

  it("refuses a bad prefix or page size", () => {
    const etcd = new FakeEtcd();
    expect(() => new LiveView(etcd, 42 as unknown as string)).toThrow(/prefix must be/);
    expect(() => new LiveView(etcd, "p", { pageSize: 0 })).toThrow(/pageSize/);
  });
});
