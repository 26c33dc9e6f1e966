import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ContextError, Etcd, GrpcError, op, type Protocol } from "../../src/node.js";
import { ConcurrencyError, type KvClient, Mutex, Session } from "../../src/recipes/index.js";
import { EtcdCluster } from "../harness/etcd.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { Etcdctl, eventually, killAllEtcdctl, sleep } from "./etcdctl.js";
import { queued } from "./queued.js";

let cluster: EtcdCluster;
const clients: Etcd[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start();
});
afterEach(() => killAllEtcdctl());
afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
});

function client(protocol: Protocol = "grpc"): Etcd {
  const c = new Etcd({ endpoints: cluster.endpoints, protocol, health: false });
  clients.push(c);
  return c;
}

/** The client, recording the key of every watch made through it. */
function recordingWatches(c: Etcd): { client: KvClient; watched: string[] } {
  const watched: string[] = [];
  const spy: KvClient = {
    get: (k, o) => c.get(k, o),
    put: (k, v, o) => c.put(k, v, o),
    delete: (k, o) => c.delete(k, o),
    txn: (o) => c.txn(o),
    lease: c.lease,
    watch: (k, o) => {
      watched.push(typeof k === "string" ? k : new TextDecoder().decode(k));
      return c.watch(k, o);
    },
  };
  return { client: spy, watched };
}

/** Tracks whether a promise settled, for asserting that a call still waits. */
function track<T>(p: Promise<T>): { done: boolean; promise: Promise<T> } {
  const t = { done: false, promise: p };
  p.then(
    () => {
      t.done = true;
    },
    () => {
      t.done = true;
    },
  );
  return t;
}

describe("session", () => {
  it("keeps a 60 s lease alive, and revokes it on close", async () => {
    const etcd = client();
    const s = await Session.create(etcd);
    expect(s.state).toBe("alive");
    const ttl = await etcd.lease.timeToLive(s.lease);
    expect(ttl.grantedTtl).toBe(60n);
    await s.close();
    expect(s.state).toBe("closed");
    expect(s.signal.aborted).toBe(true);
    await s.done;
    expect((await etcd.lease.timeToLive(s.lease)).ttl).toBe(-1n);
    await s.close(); // twice is fine
  });

  it("renews a short lease past its TTL, and ends on abort, revoking it", async () => {
    const etcd = client();
    const ctl = new AbortController();
    const s = await Session.create(etcd, { ttlSeconds: 1, signal: ctl.signal });
    await etcd.put("session/key", "v", { lease: s.lease });
    // Past twice its TTL: only renewals keep the key (a longer wait races nothing).
    await sleep(2500);
    expect((await etcd.get("session/key")).first?.text()).toBe("v");
    ctl.abort();
    expect(s.state).toBe("closed");
    expect(s.signal.reason).toBeInstanceOf(ContextError);
    await eventually(async () => (await etcd.get("session/key")).count === 0n, 5000);
  });

  it("ends as lost when its lease is revoked behind its back", async () => {
    const etcd = client();
    const s = await Session.create(etcd, { ttlSeconds: 3 });
    await etcd.lease.revoke(s.lease);
    const lost = await s.lost;
    expect(lost).toBeInstanceOf(GrpcError);
    expect((lost as GrpcError).reason).toBe("lease-not-found");
    expect(s.state).toBe("lost");
    expect(s.signal.reason).toBeInstanceOf(ConcurrencyError);
    expect(() => s.throwIfEnded()).toThrow(ConcurrencyError);
  });

  it("adopts an existing lease", async () => {
    const etcd = client();
    const grant = await etcd.lease.grant(30);
    const s = await Session.create(etcd, { lease: grant.id });
    expect(s.lease).toBe(grant.id);
    await s.close();
    expect((await etcd.lease.timeToLive(grant.id)).ttl).toBe(-1n);
  });
});

describe.each(["grpc", "gateway"] as Protocol[])("mutex over %s", (protocol) => {
  it("locks with Go's key layout, excludes another session, and hands over on unlock", async () => {
    const etcd = client(protocol);
    const [a, b] = await Promise.all([Session.create(etcd), Session.create(etcd)]);
    const ma = new Mutex(a, `${protocol}/m1`);
    const mb = new Mutex(b, `${protocol}/m1`);
    await ma.lock();
    expect(ma.keyText).toBe(`${protocol}/m1/${a.lease.toString(16)}`);
    const kv = (await etcd.get(`${protocol}/m1/`, { prefix: true })).kvs;
    expect(kv.map((k) => k.keyText)).toEqual([ma.keyText]);
    expect(kv[0]?.value.length).toBe(0);
    expect(kv[0]?.lease).toBe(a.lease);
    expect(ma.revision).toBe(kv[0]?.createRevision);

    expect(await mb.tryLock()).toBe(false);
    expect(mb.key).toBeUndefined();
    expect((await etcd.get(`${protocol}/m1/`, { prefix: true })).count).toBe(1n);

    const waiting = track(mb.lock());
    await queued(etcd, `${protocol}/m1/`, 2);
    expect(waiting.done).toBe(false);
    // The holder fences its writes with isOwner(); after unlock the same fence fails.
    const owner = ma.isOwner();
    const fenced = await etcd
      .txn()
      .if(owner)
      .then(op.put(`${protocol}/guarded`, "a"))
      .commit();
    expect(fenced.succeeded).toBe(true);
    await ma.unlock();
    await waiting.promise;
    expect(mb.keyText).toBe(`${protocol}/m1/${b.lease.toString(16)}`);
    expect((await etcd.txn().if(owner).commit()).succeeded).toBe(false);
    await mb.unlock();
    await Promise.all([a.close(), b.close()]);
  });

  it("serves waiters in order, each watching only the key created before its own", async () => {
    const base = client(protocol);
    const { client: spy, watched } = recordingWatches(base);
    const sessions = await Promise.all([0, 1, 2, 3].map(() => Session.create(spy)));
    const keys = sessions.map((s) => `${protocol}/fifo/${s.lease.toString(16)}`);
    const mutexes = sessions.map((s) => new Mutex(s, `${protocol}/fifo`));
    const order: number[] = [];
    await mutexes[0]?.lock();
    // Queue up in a known order: each waiter's key exists before the next one asks.
    const waits: Promise<void>[] = [];
    for (const [i, m] of mutexes.slice(1).entries()) {
      waits.push(
        (async () => {
          await m.lock();
          order.push(i + 1);
          await m.unlock();
        })(),
      );
      await queued(base, `${protocol}/fifo/`, i + 2);
    }
    await eventually(() => watched.length >= 3);
    expect(watched).toEqual(keys.slice(0, 3));
    await mutexes[0]?.unlock();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    // Each waiter woke once, when the key before it was deleted: no herd, no polling.
    expect(watched).toEqual(keys.slice(0, 3));
    await Promise.all(sessions.map((s) => s.close()));
  });
});

describe("mutex failures", () => {
  it("withdraws its key when aborted while the put of it is in flight: applied, unanswered", async () => {
    const etcd = client();
    const proxy = await TcpProxy.start(cluster.endpoints[0] as string);
    const viaProxy = new Etcd({ endpoints: [proxy.url], health: false });
    clients.push(viaProxy);
    try {
      const [a, b] = await Promise.all([Session.create(etcd), Session.create(viaProxy)]);
      await new Mutex(a, "fail/inflight").lock();
      proxy.holdResponses();
      const ctl = new AbortController();
      const waiting = new Mutex(b, "fail/inflight").lock({ signal: ctl.signal }).catch((e) => e);
      // etcd has b's key; b has not heard so.
      await queued(etcd, "fail/inflight/", 2);
      ctl.abort();
      proxy.releaseResponses();
      expect(await waiting).toBeInstanceOf(ContextError);
      expect((await etcd.get("fail/inflight/", { prefix: true })).count).toBe(1n);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.close();
    }
  });

  it("gives up after timeoutMs or on abort, withdrawing its key", async () => {
    const etcd = client();
    const [a, b] = await Promise.all([Session.create(etcd), Session.create(etcd)]);
    const ma = new Mutex(a, "fail/t");
    const mb = new Mutex(b, "fail/t");
    await ma.lock();
    const err = await mb.lock({ timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(ContextError);
    expect(err.reason).toBe("deadline-exceeded");
    expect((await etcd.get("fail/t/", { prefix: true })).count).toBe(1n);

    const ctl = new AbortController();
    const waiting = mb.lock({ signal: ctl.signal }).catch((e) => e);
    await queued(etcd, "fail/t/", 2);
    ctl.abort();
    expect((await waiting).reason).toBe("canceled");
    expect((await etcd.get("fail/t/", { prefix: true })).count).toBe(1n);
    await Promise.all([a.close(), b.close()]);
  });

  it("hands the lock over when the holder's session is lost", async () => {
    const etcd = client();
    const [a, b] = await Promise.all([
      Session.create(etcd, { ttlSeconds: 2 }),
      Session.create(etcd, { ttlSeconds: 2 }),
    ]);
    await new Mutex(a, "fail/lost").lock();
    const mb = new Mutex(b, "fail/lost");
    const waiting = track(mb.lock());
    await queued(etcd, "fail/lost/", 2);
    a.orphan(); // stops renewing: the lease expires within its 2 s TTL
    await waiting.promise;
    expect(mb.keyText).toBe(`fail/lost/${b.lease.toString(16)}`);
    await b.close();
  });

  it("fails a waiting lock with session-expired when its own session is lost", async () => {
    const etcd = client();
    const [a, b] = await Promise.all([
      Session.create(etcd),
      Session.create(etcd, { ttlSeconds: 3 }),
    ]);
    await new Mutex(a, "fail/own").lock();
    const mb = new Mutex(b, "fail/own");
    const waiting = mb.lock().catch((e) => e);
    await queued(etcd, "fail/own/", 2);
    await etcd.lease.revoke(b.lease);
    const err = await waiting;
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err.reason).toBe("session-expired");
    // A lock on an ended session fails at once.
    const again = await mb.lock().catch((e) => e);
    expect(again.reason).toBe("session-expired");
    await a.close();
  });
});

describe("mutex and etcdctl lock", () => {
  it("waits while etcdctl holds the lock, and takes it when etcdctl lets go", async () => {
    const etcd = client();
    const ctl = new Etcdctl(cluster.endpoints, ["lock", "ctl/a"]);
    await ctl.waitFor((out) => out.includes("ctl/a/"));
    const s = await Session.create(etcd);
    const m = new Mutex(s, "ctl/a");
    expect(await m.tryLock()).toBe(false);
    const waiting = track(m.lock());
    await queued(etcd, "ctl/a/", 2);
    expect(waiting.done).toBe(false);
    await ctl.interrupt();
    await waiting.promise;
    const holder = await etcd.get("ctl/a/", { prefix: true, sort: { target: "create" }, limit: 1 });
    expect(holder.first?.keyText).toBe(m.keyText);
    await m.unlock();
    await s.close();
  });

  it("makes etcdctl wait while it holds the lock", async () => {
    const etcd = client();
    const s = await Session.create(etcd);
    const m = new Mutex(s, "ctl/b");
    await m.lock();
    const ctl = new Etcdctl(cluster.endpoints, ["lock", "ctl/b"]);
    await queued(etcd, "ctl/b/", 2);
    expect(ctl.stdout).toBe("");
    await m.unlock();
    await ctl.waitFor((out) => out.includes("ctl/b/"));
    expect(ctl.lines[0]).not.toBe(m.keyText);
    await ctl.interrupt();
    await s.close();
  });

  it("never lets etcdctl and this client hold the lock at once", async () => {
    const etcd = client();
    const dir = mkdtempSync(join(tmpdir(), "etcd-web-lock-"));
    const log = join(dir, "log");
    try {
      const critical = `echo "enter $0" >> ${log}; sleep 0.1; echo "exit $0" >> ${log}`;
      const ctls = [0, 1, 2].map(
        (i) =>
          new Etcdctl(cluster.endpoints, ["lock", "ctl/x", "--", "sh", "-c", critical, `ctl${i}`]),
      );
      const ours = [0, 1, 2].map(async (i) => {
        const s = await Session.create(etcd);
        const m = new Mutex(s, "ctl/x");
        for (let round = 0; round < 2; round++) {
          await m.lock();
          appendFileSync(log, `enter js${i}\n`);
          await sleep(100);
          appendFileSync(log, `exit js${i}\n`);
          await m.unlock();
        }
        await s.close();
      });
      await Promise.all(ours);
      const codes = await Promise.all(ctls.map((c) => c.exited));
      expect(codes).toEqual([0, 0, 0]);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      expect(lines).toHaveLength(2 * (3 + 6));
      for (let i = 0; i < lines.length; i += 2) {
        const who = lines[i]?.replace("enter ", "");
        expect(lines[i]).toBe(`enter ${who}`);
        expect(lines[i + 1]).toBe(`exit ${who}`);
      }
      expect(new Set(lines.map((l) => l.split(" ")[1]))).toEqual(
        new Set(["ctl0", "ctl1", "ctl2", "js0", "js1", "js2"]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
