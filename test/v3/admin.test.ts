import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, GrpcError, type Protocol, type Watcher } from "../../src/node.js";
import { EtcdCluster } from "../harness/etcd.js";
import { eventually, sleep } from "../harness/wait.js";
import { protocolEndpoints } from "./protocols.js";

describe("cluster and maintenance", () => {
  let etcd: EtcdCluster;
  let client: Etcd;
  beforeAll(async () => {
    etcd = await EtcdCluster.start({ size: 3 });
    client = new Etcd({ endpoints: etcd.endpoints, health: false });
  });
  afterAll(async () => {
    await client?.close();
    await etcd?.stop();
  });

  it("lists, adds, updates and removes members; a learner not in sync cannot be promoted", async () => {
    const list = await client.cluster.memberList();
    expect(list.members.map((m) => m.name).sort()).toEqual(["m0", "m1", "m2"]);
    expect(list.members.flatMap((m) => m.clientUrls).sort()).toEqual([...etcd.endpoints].sort());

    // etcd refuses reconfiguration ("unhealthy cluster") until its members have been
    // connected for a few seconds after start.
    const added = await retryWhile("unhealthy", () =>
      client.cluster.memberAdd(["http://127.0.0.1:1"], { isLearner: true }),
    );
    const id = added.member?.id ?? 0n;
    expect(added.member?.isLearner).toBe(true);
    expect(added.members).toHaveLength(4);
    const promote = await client.cluster.memberPromote(id).catch((e) => e);
    expect(promote).toBeInstanceOf(GrpcError);
    expect(promote.reason).toBe("learner-not-ready");
    await client.cluster.memberUpdate(id, ["http://127.0.0.1:2"]);
    const updated = (await client.cluster.memberList()).members.find((m) => m.id === id);
    expect(updated?.peerUrls).toEqual(["http://127.0.0.1:2"]);
    const removed = await retryWhile("unhealthy", () => client.cluster.memberRemove(id));
    expect(removed.members).toHaveLength(3);
  });

  it("syncs its endpoints from the member list, once and every autoSyncIntervalMs", async () => {
    const [first] = etcd.endpoints;
    const one = new Etcd({ endpoints: [first ?? ""], health: false });
    const auto = new Etcd({ endpoints: [first ?? ""], health: false, autoSyncIntervalMs: 200 });
    try {
      expect([...(await one.sync())].sort()).toEqual([...etcd.endpoints].sort());
      const urls = () =>
        auto
          .endpointStates()
          .map((s) => s.url)
          .sort();
      await eventually(
        () => JSON.stringify(urls()) === JSON.stringify([...etcd.endpoints].sort()),
        10_000,
        () => `endpoints: ${urls().join(", ")}`,
      );
    } finally {
      await one.close();
      await auto.close();
    }
  });

  it("reports status, alarms, hashes, and defragments", async () => {
    const status = await client.maintenance.status();
    expect(status.version).toMatch(/^3\./);
    expect(status.leader).not.toBe(0n);
    expect(status.dbSize).toBeGreaterThan(0n);
    expect(await client.maintenance.alarms()).toEqual([]);
    await client.put("h", "1");
    const h = await client.maintenance.hashKV();
    expect(h.hash).not.toBe(0);
    expect((await client.maintenance.hash()).hash).not.toBe(0);
    await expect(client.maintenance.defragment()).resolves.toHaveProperty("header");
  });
});

describe.each(protocolEndpoints.names)("auth over %s", (protocol: Protocol) => {
  let etcd: EtcdCluster;
  let endpoints: string[];
  let stopProxy: () => Promise<void>;

  beforeAll(async () => {
    // Simple tokens that expire after 2 s, so the client must renew its token.
    etcd = await EtcdCluster.start({
      corsOrigins: ["http://127.0.0.1:5173"],
      extraArgs: ["--auth-token=simple", "--auth-token-ttl=2"],
    });
    const admin = new Etcd({ endpoints: etcd.endpoints, health: false });
    try {
      await admin.auth.userAdd("root", "rootpw");
      await admin.auth.roleAdd("root").catch(() => {});
      await admin.auth.userGrantRole("root", "root");
      await admin.auth.roleAdd("app");
      await admin.auth.roleGrantPermission("app", "readwrite", "app/", { prefix: true });
      await admin.auth.userAdd("alice", "alicepw");
      await admin.auth.userGrantRole("alice", "app");
      await admin.auth.enable();
    } finally {
      await admin.close();
    }
    const ep = await protocolEndpoints.start(protocol, etcd.endpoints);
    endpoints = ep.endpoints;
    stopProxy = ep.stop;
  });
  afterAll(async () => {
    await stopProxy?.();
    await etcd?.stop();
  });

  it("refuses calls without a login, and a wrong password", async () => {
    const anon = new Etcd({ endpoints, protocol, health: false });
    const wrong = new Etcd({
      endpoints,
      protocol,
      health: false,
      auth: { username: "alice", password: "x" },
    });
    try {
      const e1 = await anon.get("app/x").catch((e) => e);
      expect(e1).toBeInstanceOf(GrpcError);
      expect(["user-empty", "permission-denied", "invalid-auth-token"]).toContain(e1.reason);
      const e2 = await wrong.get("app/x").catch((e) => e);
      expect(e2).toBeInstanceOf(GrpcError);
      expect(e2.reason).toBe("auth-failed");
    } finally {
      await anon.close();
      await wrong.close();
    }
  });

  it("reads, writes and watches as a user, within its permissions, across token expiry", async () => {
    const alice = new Etcd({
      endpoints,
      protocol,
      health: false,
      auth: { username: "alice", password: "alicepw" },
    });
    let w: Watcher | undefined;
    try {
      await alice.put("app/one", "1");
      expect((await alice.get("app/one")).first?.text()).toBe("1");
      const denied = await alice.put("other", "x").catch((e) => e);
      expect(denied).toBeInstanceOf(GrpcError);
      expect(denied.reason).toBe("permission-denied");

      w = alice.watch("app/", { prefix: true });
      const seen: string[] = [];
      const done = (async () => {
        for await (const res of w) {
          for (const e of res.events) seen.push(e.kv.text());
          if (seen.length >= 2) break;
        }
      })();
      await w.ready({ timeoutMs: 10_000 });
      // Let the simple token expire (its TTL is 2 s): the next call must log in again by
      // itself. Waiting longer only makes the point more surely; nothing races this wait.
      await sleep(3000);
      await alice.put("app/two", "2");
      await alice.put("app/three", "3");
      await done;
      expect(seen).toEqual(["2", "3"]);
      expect(await alice.auth.userGet("alice")).toEqual(["app"]);
      expect(await alice.auth.userList().catch((e) => e.reason)).toBe("permission-denied");
    } finally {
      w?.cancel();
      await alice.close();
    }
  });
});

async function retryWhile<T>(reason: string, call: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof GrpcError) || e.reason !== reason || i > 50) throw e;
      await sleep(200);
    }
  }
}
