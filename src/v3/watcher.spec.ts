import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ContextError, InvalidInputError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { WatchCreateRequest_FilterType, WatchResponseSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType } from "../gen/mvccpb/kv_pb.js";
import { Watcher, type WatchOptions, type WatchResponse, type WatchState } from "./watcher.js";

const enc = (s: string) => new TextEncoder().encode(s);
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const header = (revision: bigint) => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n });

type Init = MessageInitShape<typeof WatchResponseSchema>;
const response = (init: Init) => create(WatchResponseSchema, init);
const put = (key: string, value: string, rev: bigint) => ({
  type: Event_EventType.PUT,
  kv: { key: enc(key), value: enc(value), modRevision: rev, createRevision: rev, version: 1n },
});
const del = (key: string, rev: bigint) => ({
  type: Event_EventType.DELETE,
  kv: { key: enc(key), modRevision: rev },
});
/** A response of events, its header at the last event's revision. */
const events = (...evs: ReturnType<typeof put>[]) =>
  response({ header: header(evs[evs.length - 1]?.kv.modRevision ?? 0n), events: evs });
const created = (revision: bigint) => response({ header: header(revision), created: true });

/** A watcher with a host that records remove(), created at `revision` when given. */
function watcher(key = "k", options: WatchOptions = {}, revision?: bigint) {
  const w = new Watcher(key, options);
  const removed: Watcher[] = [];
  w.attach({ remove: (x) => removed.push(x) });
  const states: WatchState[] = [];
  w.onStateChange((s) => states.push(s));
  if (revision !== undefined) w.created(created(revision));
  return { w, removed, states };
}

type Read = { value: WatchResponse | "end" } | { error: unknown };
const readers = new WeakMap<
  Watcher,
  { it: AsyncIterator<WatchResponse>; pending: Promise<Read> | undefined }
>();

/**
 * What the watcher has delivered so far, read until it would wait; ends with "end" or the
 * error. A read left waiting is kept for the next call, so nothing is lost between calls.
 */
async function drain(w: Watcher): Promise<Array<WatchResponse | "end" | unknown>> {
  const reader = readers.get(w) ?? { it: w[Symbol.asyncIterator](), pending: undefined };
  readers.set(w, reader);
  const out: Array<WatchResponse | "end" | unknown> = [];
  for (;;) {
    let settled = false;
    const next =
      reader.pending ??
      reader.it.next().then(
        (r): Read => ({ value: r.done ? "end" : r.value }),
        (error): Read => ({ error }),
      );
    reader.pending = next.finally(() => {
      settled = true;
    });
    await flush();
    if (!settled) return out;
    reader.pending = undefined;
    const r = await next;
    if ("error" in r) return [...out, r.error];
    out.push(r.value);
    if (r.value === "end") return out;
  }
}

const revisions = (rs: Array<WatchResponse | unknown>) =>
  rs.map((r) =>
    typeof r === "object" && r !== null && "events" in r
      ? (r as WatchResponse).events.map((e) => e.kv.modRevision)
      : r,
  );

describe("the create request", () => {
  it("asks for the key range from the start revision, with the options", () => {
    const { w } = watcher("app/", {
      prefix: true,
      startRevision: 7,
      prevKv: true,
      progressNotify: true,
      filters: { noPut: true, noDelete: true },
    });
    expect(w.createRequest()).toEqual({
      key: enc("app/"),
      rangeEnd: enc("app0"),
      startRevision: 7n,
      prevKv: true,
      progressNotify: true,
      filters: [WatchCreateRequest_FilterType.NOPUT, WatchCreateRequest_FilterType.NODELETE],
      fragment: true,
    });
  });

  it("asks from now (0) by default, and from the next revision once created", () => {
    const { w } = watcher("k");
    expect(w.createRequest()).toMatchObject({ rangeEnd: new Uint8Array(), startRevision: 0n });
    w.created(created(41n));
    expect(w.revision).toBe(42n);
    expect(w.createRequest().startRevision).toBe(42n);
  });

  it("keeps the start revision it was given when created", () => {
    const { w } = watcher("k", { startRevision: 3n });
    w.created(created(41n));
    expect(w.revision).toBe(3n);
  });

  it("refuses an empty key and a negative start revision", () => {
    expect(() => new Watcher("", {})).toThrow(InvalidInputError);
    expect(() => new Watcher("k", { startRevision: -1 })).toThrow(InvalidInputError);
  });
});

describe("events", () => {
  it("are delivered with their type, key-values and header, and move the revision on", async () => {
    const { w } = watcher("k", {}, 10n);
    const res = response({
      header: header(12n),
      events: [
        { ...put("k", "v", 11n), prevKv: { key: enc("k"), value: enc("old") } },
        del("k", 12n),
      ],
    });
    w.deliver(res);
    const [first] = await drain(w);
    const r = first as WatchResponse;
    expect(r.header.revision).toBe(12n);
    expect(r.progressNotify).toBe(false);
    expect(r.events.map((e) => [e.type, e.kv.keyText, e.kv.modRevision])).toEqual([
      ["put", "k", 11n],
      ["delete", "k", 12n],
    ]);
    expect(r.events[0]?.kv.text()).toBe("v");
    expect(r.events[0]?.prevKv?.text()).toBe("old");
    expect(r.events[1]?.prevKv).toBeUndefined();
    expect(w.revision).toBe(13n);
  });

  it("below the next revision are dropped, as when a resumed stream repeats them", async () => {
    const { w } = watcher("k", {}, 10n);
    w.deliver(events(put("k", "a", 11n), put("k", "b", 12n)));
    w.deliver(events(put("k", "b", 12n)));
    w.deliver(events(put("k", "b", 12n), put("k", "c", 13n)));
    expect(revisions(await drain(w))).toEqual([[11n, 12n], [13n]]);
    expect(w.revision).toBe(14n);
  });

  it("of one revision (a txn) are all kept", async () => {
    const { w } = watcher("k", { prefix: true }, 10n);
    w.deliver(events(put("k1", "a", 11n), put("k2", "b", 11n)));
    expect(revisions(await drain(w))).toEqual([[11n, 11n]]);
  });

  it("in fragments are delivered as one response when the last fragment arrives", async () => {
    const { w } = watcher("k", { prefix: true }, 10n);
    w.deliver(response({ header: header(11n), fragment: true, events: [put("k1", "a", 11n)] }));
    w.deliver(response({ header: header(11n), fragment: true, events: [put("k2", "b", 11n)] }));
    expect(await drain(w)).toEqual([]);
    w.deliver(response({ header: header(11n), events: [put("k3", "c", 11n)] }));
    const [r] = await drain(w);
    expect((r as WatchResponse).events.map((e) => e.kv.keyText)).toEqual(["k1", "k2", "k3"]);
  });

  it("in fragments left half-assembled by a broken stream are dropped on re-create", async () => {
    const { w } = watcher("k", { prefix: true }, 10n);
    w.deliver(response({ header: header(11n), fragment: true, events: [put("k1", "a", 11n)] }));
    w.createRequest();
    w.deliver(
      response({ header: header(11n), events: [put("k1", "a", 11n), put("k2", "b", 11n)] }),
    );
    const [r] = await drain(w);
    expect((r as WatchResponse).events.map((e) => e.kv.keyText)).toEqual(["k1", "k2"]);
  });
});

describe("progress notifications", () => {
  it("are delivered as such and move the revision to after the header's", async () => {
    const { w } = watcher("k", {}, 10n);
    w.deliver(response({ header: header(25n) }));
    const [r] = await drain(w);
    expect(r).toMatchObject({ progressNotify: true, events: [] });
    expect((r as WatchResponse).header.revision).toBe(25n);
    expect(w.revision).toBe(26n);
    expect(w.createRequest().startRevision).toBe(26n);
  });

  it("make later events at or below their revision count as delivered", async () => {
    const { w } = watcher("k", {}, 10n);
    w.deliver(response({ header: header(25n) }));
    w.deliver(events(put("k", "old", 25n)));
    w.deliver(events(put("k", "new", 26n)));
    expect(revisions(await drain(w))).toEqual([[], [26n]]);
  });

  it("never move the revision back", () => {
    const { w } = watcher("k", {}, 30n);
    w.deliver(response({ header: header(20n) }));
    expect(w.revision).toBe(31n);
  });
});

describe("a watch canceled by the server", () => {
  it("for compaction fails the iteration with reason compacted and the compact revision", async () => {
    const { w, removed, states } = watcher("k", { startRevision: 2n }, 50n);
    w.deliver(events(put("k", "a", 3n)));
    w.deliver(response({ header: header(50n), canceled: true, compactRevision: 9n }));
    const out = await drain(w);
    expect(revisions(out.slice(0, 1))).toEqual([[3n]]);
    const e = out[1];
    expect(e).toBeInstanceOf(GrpcError);
    expect(e).toMatchObject({ reason: "compacted", compactRevision: 9n, code: Code.OutOfRange });
    expect(w.state).toBe("failed");
    expect(states.at(-1)).toBe("failed");
    expect(removed).toEqual([w]);
  });

  it("with a reason fails with that message's etcd reason", async () => {
    const { w } = watcher("k", {}, 5n);
    w.deliver(
      response({
        header: header(5n),
        canceled: true,
        cancelReason: "etcdserver: permission denied",
      }),
    );
    const [e] = await drain(w);
    expect(e).toMatchObject({ kind: "grpc", reason: "permission-denied" });
  });

  it("without a reason fails with reason watch-canceled", async () => {
    const { w } = watcher("k", {}, 5n);
    w.deliver(response({ header: header(5n), canceled: true }));
    const [e] = await drain(w);
    expect(e).toMatchObject({ kind: "grpc", reason: "watch-canceled", code: Code.Canceled });
  });
});

describe("ending a watch", () => {
  it("cancel() ends the iteration after what was delivered, and leaves the host", async () => {
    const { w, removed } = watcher("k", {}, 10n);
    w.deliver(events(put("k", "a", 11n)));
    w.cancel();
    w.deliver(events(put("k", "b", 12n)));
    expect(revisions(await drain(w))).toEqual([[11n], "end"]);
    expect(w.state).toBe("closed");
    expect(removed).toEqual([w]);
  });

  it("cancel() wakes a waiting for-await loop", async () => {
    const { w } = watcher("k", {}, 10n);
    const seen: bigint[] = [];
    const loop = (async () => {
      for await (const r of w) seen.push(...r.events.map((e) => e.kv.modRevision));
    })();
    w.deliver(events(put("k", "a", 11n)));
    await flush();
    w.cancel();
    await loop;
    expect(seen).toEqual([11n]);
  });

  it("the signal ends it", async () => {
    const abort = new AbortController();
    const { w, removed } = watcher("k", { signal: abort.signal }, 10n);
    abort.abort();
    expect(await drain(w)).toEqual(["end"]);
    expect(w.state).toBe("closed");
    expect(removed).toEqual([w]);
  });

  it("a signal that has already fired ends it at once", async () => {
    const { w } = watcher("k", { signal: AbortSignal.abort() });
    await flush();
    expect(w.state).toBe("closed");
    expect(await drain(w)).toEqual(["end"]);
  });

  it("leaving the for-await loop cancels it", async () => {
    const { w, removed } = watcher("k", {}, 10n);
    w.deliver(events(put("k", "a", 11n)));
    for await (const _ of w) break;
    expect(w.state).toBe("closed");
    expect(removed).toEqual([w]);
  });

  it("is iterable once", () => {
    const { w } = watcher();
    w[Symbol.asyncIterator]();
    expect(() => w[Symbol.asyncIterator]()).toThrow(/iterated once/);
  });

  it("ignores fail() after cancel()", async () => {
    const { w, removed } = watcher("k", {}, 10n);
    w.cancel();
    w.fail(new Error("late"));
    expect(w.state).toBe("closed");
    expect(removed).toHaveLength(1);
    expect(await drain(w)).toEqual(["end"]);
  });
});

describe("state", () => {
  it("goes connecting → watching ⇄ reconnecting → closed, telling listeners of each change", () => {
    const { w, states } = watcher();
    expect(w.state).toBe("connecting");
    w.connecting(false);
    w.created(created(1n));
    w.connecting(true);
    w.connecting(true);
    w.created(created(5n));
    w.cancel();
    expect(states).toEqual(["watching", "reconnecting", "watching", "closed"]);
  });

  it("does not change once ended", () => {
    const { w, states } = watcher();
    w.fail(new Error("down"));
    w.connecting(true);
    w.created(created(1n));
    w.cancel();
    expect(states).toEqual(["failed"]);
    expect(w.state).toBe("failed");
  });

  it("survives a throwing listener, and stops telling one that unsubscribed", () => {
    const { w } = watcher();
    const seen: WatchState[] = [];
    w.onStateChange(() => {
      throw new Error("listener bug");
    });
    const off = w.onStateChange((s) => seen.push(s));
    w.created(created(1n));
    off();
    w.cancel();
    expect(seen).toEqual(["watching"]);
    expect(w.state).toBe("closed");
  });
});

describe("ready()", () => {
  it("resolves when etcd confirms the watch, and at once once it is watching", async () => {
    const { w } = watcher();
    let ready = false;
    const p = w.ready().then(() => {
      ready = true;
    });
    await flush();
    expect(ready).toBe(false);
    w.created(created(5n));
    await p;
    expect(ready).toBe(true);
    await expect(w.ready()).resolves.toBeUndefined();
  });

  it("rejects with the watch's own error when it fails first", async () => {
    const { w } = watcher();
    const p = w.ready();
    w.deliver(response({ header: header(9n), canceled: true, compactRevision: 7n }));
    await expect(p).rejects.toMatchObject({ reason: "compacted", compactRevision: 7n });
  });

  it("rejects as canceled when the watch is cancelled first, or its signal fires", async () => {
    const { w } = watcher();
    const p = w.ready();
    w.cancel();
    await expect(p).rejects.toBeInstanceOf(ContextError);
    await expect(p).rejects.toMatchObject({ reason: "canceled" });
    const ac = new AbortController();
    const other = watcher().w.ready({ signal: ac.signal });
    ac.abort();
    await expect(other).rejects.toMatchObject({ reason: "canceled" });
  });

  it("rejects as deadline-exceeded after timeoutMs, and the watch goes on", async () => {
    const { w } = watcher();
    await expect(w.ready({ timeoutMs: 20 })).rejects.toMatchObject({
      reason: "deadline-exceeded",
    });
    expect(w.state).toBe("connecting");
    w.created(created(5n));
    await expect(w.ready({ timeoutMs: 20 })).resolves.toBeUndefined();
  });
});
