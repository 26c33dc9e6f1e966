import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isV2Error,
  V2Client,
  V2Error,
  V2ErrorCode,
  type V2WatchEvent,
  type V2Watcher,
} from "../../src/v2/index.js";
import { EtcdCluster } from "../harness/etcd.js";

// The keys API against one real member started with --enable-v2.
let etcd: EtcdCluster;
let client: V2Client;
beforeAll(async () => {
  etcd = await EtcdCluster.start({ enableV2: true, corsOrigins: ["http://127.0.0.1:5173"] });
  client = new V2Client({ endpoints: etcd.endpoints, headerTimeoutPerRequestMs: 5000 });
});
afterAll(() => etcd?.stop());

async function serverError(p: Promise<unknown>): Promise<V2Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof V2Error)) throw new Error(`expected a V2Error, got ${String(e)}`);
  return e;
}

async function take(w: V2Watcher, n: number): Promise<V2WatchEvent[]> {
  const out: V2WatchEvent[] = [];
  for await (const ev of w) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

describe("keys", () => {
  it("sets and gets, with the etcd index", async () => {
    const set = await client.keys.set("/basic/foo", "bar");
    expect(set.action).toBe("set");
    expect(set.node).toMatchObject({ key: "/basic/foo", value: "bar", dir: false });
    expect(set.etcdIndex).toBe(set.node.modifiedIndex);
    const again = await client.keys.set("/basic/foo", "baz");
    expect(again.prevNode?.value).toBe("bar");
    const got = await client.keys.get("/basic/foo", { quorum: true });
    expect(got).toMatchObject({ action: "get", node: { value: "baz" } });
    expect(got.etcdIndex).toBeGreaterThanOrEqual(again.node.modifiedIndex);
  });

  it("keeps keys that need encoding intact", async () => {
    const key = "/enc/a b?c#d%e/é";
    await client.keys.set(key, "v=1&w=2");
    const got = await client.keys.get(key);
    expect(got.node).toMatchObject({ key, value: "v=1&w=2" });
  });

  it("creates, updates, compares and swaps", async () => {
    const created = await client.keys.create("/cas/k", "1");
    expect(created.action).toBe("create");
    const updated = await client.keys.update("/cas/k", "2");
    expect(updated.action).toBe("update");
    const swapped = await client.keys.set("/cas/k", "3", {
      prevValue: "2",
      prevIndex: updated.node.modifiedIndex,
    });
    expect(swapped.action).toBe("compareAndSwap");
    const deleted = await client.keys.delete("/cas/k", { prevValue: "3" });
    expect(deleted.action).toBe("compareAndDelete");
    expect(deleted.prevNode?.value).toBe("3");
  });

  it("reads a directory recursively and sorted, and creates in order", async () => {
    const a = await client.keys.createInOrder("/queue", "first");
    const b = await client.keys.createInOrder("/queue", "second", { ttl: 60 });
    expect(a.action).toBe("create");
    expect(a.node.key < b.node.key).toBe(true);
    expect(b.node.ttl).toBeGreaterThan(0);
    expect(b.node.expiration).toMatch(/^\d{4}-/);
    await client.keys.set("/queue/sub/x", "deep");
    const flat = await client.keys.get("/queue", { sort: true });
    expect(flat.node.dir).toBe(true);
    expect(flat.node.nodes?.map((n) => n.value ?? "(dir)")).toEqual(["first", "second", "(dir)"]);
    const deep = await client.keys.get("/queue", { recursive: true, sort: true });
    expect(deep.node.nodes?.[2]?.nodes?.[0]?.value).toBe("deep");
  });

  it("makes and removes directories, refreshes a TTL", async () => {
    const dir = await client.keys.set("/dirs/d", "", { dir: true });
    expect(dir.node.dir).toBe(true);
    await client.keys.delete("/dirs/d", { dir: true });
    const k = await client.keys.set("/dirs/ttl", "v", { ttl: 30 });
    const refreshed = await client.keys.set("/dirs/ttl", "", { ttl: 60, refresh: true });
    expect(refreshed.node.value).toBe("v");
    expect(refreshed.node.ttl).toBeGreaterThan(30);
    expect(k.node.ttl).toBeLessThanOrEqual(30);
    await client.keys.set("/dirs/sub/a", "1");
    await client.keys.delete("/dirs", { recursive: true });
    await expect(client.keys.get("/dirs")).rejects.toMatchObject({ errorCode: 100 });
  });

  it("reads the root", async () => {
    const root = await client.keys.get("/");
    expect(root.node).toMatchObject({ key: "/", dir: true });
    expect(root.node.nodes?.some((n) => n.key === "/basic")).toBe(true);
  });

  it("answers members and version", async () => {
    const members = await client.members.list();
    expect(members).toHaveLength(1);
    expect(members[0]?.clientURLs).toEqual(etcd.endpoints);
    expect((await client.members.leader()).id).toBe(members[0]?.id);
    expect((await client.version()).server).toMatch(/^3\.[45]\./);
  });
});

describe("errors from a real server", () => {
  it("100 key not found", async () => {
    const e = await serverError(client.keys.get("/missing"));
    expect(e).toMatchObject({ errorCode: V2ErrorCode.KeyNotFound, status: 404 });
    expect(e).toMatchObject({ message: "Key not found", errorCause: "/missing" });
    expect(e.index).toBeGreaterThan(0);
    expect(e.endpoint).toBe(etcd.endpoints[0]);
  });

  it("101 compare failed, on swap and on delete", async () => {
    const k = await client.keys.set("/errors/cmp", "a");
    const swap = await serverError(client.keys.set("/errors/cmp", "b", { prevValue: "zzz" }));
    expect(swap).toMatchObject({ errorCode: V2ErrorCode.TestFailed, errorCause: "[zzz != a]" });
    const del = await serverError(
      client.keys.delete("/errors/cmp", { prevIndex: k.node.modifiedIndex + 1000 }),
    );
    expect(del.errorCode).toBe(V2ErrorCode.TestFailed);
  });

  it("102 not a file", async () => {
    await client.keys.set("/errors/dir", "", { dir: true });
    const e = await serverError(client.keys.set("/errors/dir", "value"));
    expect(e).toMatchObject({ errorCode: V2ErrorCode.NotFile, errorCause: "/errors/dir" });
  });

  it("104 not a directory", async () => {
    await client.keys.set("/errors/file", "v");
    const e = await serverError(client.keys.set("/errors/file/child", "v"));
    expect(e.errorCode).toBe(V2ErrorCode.NotDir);
  });

  it("105 node exists", async () => {
    await client.keys.set("/errors/exists", "v");
    const e = await serverError(client.keys.create("/errors/exists", "again"));
    expect(e).toMatchObject({ errorCode: V2ErrorCode.NodeExist, status: 412 });
  });

  it("107 root read-only", async () => {
    const e = await serverError(client.keys.set("/", "v"));
    expect(e.errorCode).toBe(V2ErrorCode.RootROnly);
  });

  it("108 dir not empty", async () => {
    await client.keys.set("/errors/full/a", "v");
    const e = await serverError(client.keys.delete("/errors/full", { dir: true }));
    expect(e.errorCode).toBe(V2ErrorCode.DirNotEmpty);
  });

  it("211 value on refresh", async () => {
    await client.keys.set("/errors/ttl", "v", { ttl: 30 });
    const e = await serverError(client.keys.set("/errors/ttl", "x", { ttl: 30, refresh: true }));
    expect(e.errorCode).toBe(V2ErrorCode.RefreshValue);
  });
});

describe("watcher", () => {
  it("delivers changes in order and goes on after each", async () => {
    const start = await client.keys.set("/w/k", "0");
    const w = client.keys.watcher("/w", { afterIndex: start.node.modifiedIndex, recursive: true });
    const events = take(w, 3);
    await client.keys.set("/w/k", "1");
    await client.keys.set("/w/other", "2");
    await client.keys.delete("/w/k");
    const got = await events;
    expect(got.map((e) => [e.action, e.node?.key])).toEqual([
      ["set", "/w/k"],
      ["set", "/w/other"],
      ["delete", "/w/k"],
    ]);
    expect(w.afterIndex).toBe((got[2] as { node: { modifiedIndex: number } }).node.modifiedIndex);
  });

  it("sees a TTL expire", async () => {
    const set = await client.keys.set("/w/ttl", "short", { ttl: 1 });
    const [ev] = await take(
      client.keys.watcher("/w/ttl", { afterIndex: set.node.modifiedIndex, timeoutMs: 10_000 }),
      1,
    );
    expect(ev?.action).toBe("expire");
    expect(ev?.action === "expire" && ev.prevNode?.value).toBe("short");
    await expect(client.keys.get("/w/ttl")).rejects.toMatchObject({ errorCode: 100 });
  });

  it("resyncs when etcd cleared the events it waits for (401)", async () => {
    const first = await client.keys.set("/w/busy", "start");
    // etcd v2 keeps the last 1000 events: write past them.
    const writes = Array.from({ length: 1010 }, (_, i) => i);
    const pending = new Set<Promise<unknown>>();
    for (const i of writes) {
      const p = client.keys.set("/w/busy", String(i)).finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= 16) await Promise.race(pending);
    }
    await Promise.all(pending);
    const now = await client.keys.get("/w/busy");
    const w = client.keys.watcher("/w/busy", { afterIndex: first.node.modifiedIndex });
    const [resync] = await take(w, 1);
    if (resync?.action !== "resync") throw new Error(`expected a resync, got ${resync?.action}`);
    expect(resync.error).toBeInstanceOf(V2Error);
    expect(isV2Error(resync.error, V2ErrorCode.EventIndexCleared)).toBe(true);
    expect(resync.error.status).toBe(400);
    expect(resync.lostAfter).toBe(first.node.modifiedIndex);
    expect(resync.node).toEqual(now.node);
    expect(resync.etcdIndex).toBeGreaterThanOrEqual(now.node.modifiedIndex);
    // It goes on from there.
    const next = take(w, 1);
    const after = await client.keys.set("/w/busy", "after");
    const [ev] = await next;
    expect(ev).toMatchObject({ action: "set", node: { modifiedIndex: after.node.modifiedIndex } });
  });
});

// Last in this file: it turns on etcd's v2 auth, and turns it off again.
describe("basic auth", () => {
  const url = () => etcd.endpoints[0] ?? "";
  const admin = `Basic ${btoa("root:s3cret")}`;

  beforeAll(async () => {
    const user = await fetch(`${url()}/v2/auth/users/root`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "root", password: "s3cret" }),
    });
    expect(user.ok).toBe(true);
    const enable = await fetch(`${url()}/v2/auth/enable`, { method: "PUT" });
    expect(enable.ok).toBe(true);
  });
  afterAll(async () => {
    await fetch(`${url()}/v2/auth/enable`, { method: "DELETE", headers: { authorization: admin } });
  });

  it("sends username and password; wrong ones are etcd's 110", async () => {
    const root = new V2Client({ endpoints: etcd.endpoints, username: "root", password: "s3cret" });
    await expect(root.keys.set("/auth/k", "v")).resolves.toMatchObject({ action: "set" });
    const wrong = new V2Client({ endpoints: etcd.endpoints, username: "root", password: "nope" });
    const e = await serverError(wrong.keys.get("/auth/k"));
    expect(e).toMatchObject({ errorCode: V2ErrorCode.Unauthorized, status: 401 });
    expect(e.errorCause).toBe("Insufficient credentials");
  });
});
