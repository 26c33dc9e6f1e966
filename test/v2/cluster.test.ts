import { afterAll, beforeAll, expect, it } from "vitest";
import {
  ClusterError,
  ContextError,
  V2Client,
  V2Error,
  V2ErrorCode,
  type V2WatchEvent,
  type V2Watcher,
} from "../../src/v2/index.js";
import { EtcdCluster } from "../harness/etcd.js";

// Endpoint behaviour against a real 3-member cluster started with --enable-v2.
// The tests run in order and share the cluster: each leaves it as the next expects.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start({ size: 3, enableV2: true });
});
afterAll(() => etcd?.stop());

const url = (i: number) => etcd.member(i).clientUrl;
const fast = { backoff: { baseMs: 20, maxMs: 100 } };

async function take(w: V2Watcher, n: number): Promise<V2WatchEvent[]> {
  const out: V2WatchEvent[] = [];
  for await (const ev of w) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

it("lists the members, the leader and the version", async () => {
  const client = new V2Client({ endpoints: etcd.endpoints });
  const members = await client.members.list();
  expect(members.map((m) => m.clientURLs[0]).sort()).toEqual([...etcd.endpoints].sort());
  const leader = await client.members.leader();
  expect(members.map((m) => m.id)).toContain(leader.id);
  expect((await client.version()).server).toMatch(/^3\./);
});

it("moves on when the pinned member is killed, and the watcher goes on too", async () => {
  const client = new V2Client({
    endpoints: etcd.endpoints,
    headerTimeoutPerRequestMs: 2000,
    retry: fast,
  });
  const start = await client.keys.set("/failover/k", "before");
  expect(client.pinnedEndpoint).toBe(url(0));
  // The watch waits on member 0 when it dies, and must go on elsewhere from the same index.
  const w = client.keys.watcher("/failover", {
    afterIndex: start.node.modifiedIndex,
    recursive: true,
  });
  const events = take(w, 2);
  await new Promise((r) => setTimeout(r, 200));
  await etcd.member(0).kill();
  await etcd.waitForLeader();

  await client.keys.set("/failover/k", "after");
  expect(client.pinnedEndpoint).not.toBe(url(0));
  expect(client.endpoints()[0]?.health).toBe("unhealthy");
  await client.keys.set("/failover/k2", "more");
  const got = await events;
  expect(got.map((e) => e.action === "set" && e.node.value)).toEqual(["after", "more"]);
  await expect(client.keys.get("/failover/k", { quorum: true })).resolves.toMatchObject({
    node: { value: "after" },
  });
});

it("sends a create on when the pinned member refused the connection (it was never sent)", async () => {
  // Member 0 is still down; a new client starts on it.
  const client = new V2Client({ endpoints: etcd.endpoints, retry: fast });
  const res = await client.keys.create("/failover/created", "once");
  expect(res.action).toBe("create");
  expect(client.pinnedEndpoint).toBe(url(1));
  await etcd.member(0).restart();
  await etcd.waitForLeader();
});

it("fails over from a member that gives no headers in time (paused)", async () => {
  const client = new V2Client({
    endpoints: [url(1), url(2), url(0)],
    headerTimeoutPerRequestMs: 1000,
    retry: fast,
  });
  await client.keys.set("/paused/k", "v");
  etcd.member(1).pause();
  try {
    // A quorum read: a plain v2 read is served from the member's own store, and the member
    // it fails over to may not have applied the set yet (seen once in CI as "Key not found").
    const got = await client.keys.get("/paused/k", { quorum: true });
    expect(got.node.value).toBe("v");
    // Round-robin moves to url(2); on a loaded machine url(2) may miss the header timeout too,
    // and then url(0) serves. Either way the paused member is left.
    expect([url(2), url(0)]).toContain(client.pinnedEndpoint);
    const paused = client.endpoints()[0];
    expect(paused?.health).toBe("unhealthy");
    expect(paused?.lastError).toBeInstanceOf(ContextError);
    expect(paused?.lastError).toMatchObject({ reason: "deadline-exceeded", endpoint: url(1) });
  } finally {
    etcd.member(1).resume();
  }
  await etcd.waitForLeader();
});

it("a write without quorum ends in etcd's 300, and is not sent twice", async () => {
  // Last: it leaves one member of three. etcd gives up on the proposal after its request
  // timeout (about 7 s at default election settings) and answers 300 with HTTP 500.
  await etcd.member(0).kill();
  await etcd.member(1).kill();
  const client = new V2Client({ endpoints: [url(2), url(0)], retry: fast });
  const e = await client.keys.create("/noquorum", "v").catch((x: unknown) => x);
  const server = e instanceof ClusterError ? e.errors[0]?.error : e;
  expect(server).toBeInstanceOf(V2Error);
  expect(server).toMatchObject({ errorCode: V2ErrorCode.RaftInternal, status: 500 });
  expect((server as V2Error).errorCause).toMatch(/timed out/);
  // Only member 2 was asked: a create that may have been proposed is not repeated.
  expect(client.endpoints()[1]?.checkedAt).toBeUndefined();
}, 30_000);
