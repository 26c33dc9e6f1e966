import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ContextError, Etcd, InvalidInputError, op } from "../../src/node.js";
import {
  ConcurrencyError,
  Election,
  type ElectionLeader,
  Session,
} from "../../src/recipes/index.js";
import { EtcdCluster } from "../harness/etcd.js";
import { TcpProxy } from "../harness/tcp-proxy.js";
import { Etcdctl, eventually, killAllEtcdctl } from "./etcdctl.js";
import { queued } from "./queued.js";

let cluster: EtcdCluster;
let etcd: Etcd;

beforeAll(async () => {
  cluster = await EtcdCluster.start();
  etcd = new Etcd({ endpoints: cluster.endpoints, health: false });
});
afterEach(() => killAllEtcdctl());
afterAll(async () => {
  await etcd?.close();
  await cluster?.stop();
});

/** Collects what observe() yields, as "value" strings, until stopped. */
function observer(e: Election): { values: string[]; stop: () => Promise<void> } {
  const ctl = new AbortController();
  const values: string[] = [];
  const done = (async () => {
    for await (const l of e.observe({ signal: ctl.signal })) values.push(l.kv.text());
  })();
  return {
    values,
    stop: async () => {
      ctl.abort();
      await done;
    },
  };
}

describe("election", () => {
  it("elects the first candidate, queues the next, proclaims, resigns and observes", async () => {
    const [a, b] = await Promise.all([Session.create(etcd), Session.create(etcd)]);
    const ea = new Election(a, "el/one");
    const eb = new Election(b, "el/one");
    const watcher = new Election(etcd, "el/one"); // no session: read and observe only
    expect(await watcher.leader()).toBeUndefined();
    const seen = observer(watcher);

    await ea.campaign("a1");
    expect(ea.keyText).toBe(`el/one/${a.lease.toString(16)}`);
    const leader = (await watcher.leader()) as ElectionLeader;
    expect(leader.kv.keyText).toBe(ea.keyText);
    expect(leader.kv.text()).toBe("a1");
    expect(leader.kv.lease).toBe(a.lease);

    let bElected = false;
    const bCampaign = eb.campaign("b1").then(() => {
      bElected = true;
    });
    await ea.proclaim("a2");
    expect((await watcher.leader())?.kv.text()).toBe("a2");
    await queued(etcd, "el/one/", 2);
    expect(bElected).toBe(false);
    // Fencing: the leader's writes can be conditioned on still being in office.
    const term = ea.isLeader();
    expect((await etcd.txn().if(term).then(op.put("el/guarded", "x")).commit()).succeeded).toBe(
      true,
    );

    await ea.resign();
    await bCampaign;
    expect((await watcher.leader())?.kv.text()).toBe("b1");
    expect((await etcd.txn().if(term).commit()).succeeded).toBe(false);
    const notLeader = await ea.proclaim("a3").catch((e) => e);
    expect(notLeader).toBeInstanceOf(ConcurrencyError);
    expect(notLeader.reason).toBe("not-leader");

    await eventually(() => seen.values.length >= 3);
    expect(seen.values).toEqual(["a1", "a2", "b1"]);
    await eb.resign();
    await seen.stop();
    await Promise.all([a.close(), b.close()]);
  });

  it("takes its place back when the session campaigns again, proclaiming the new value", async () => {
    const s = await Session.create(etcd);
    const e1 = new Election(s, "el/again");
    await e1.campaign("first");
    const e2 = new Election(s, "el/again");
    await e2.campaign("second");
    expect(e2.revision).toBe(e1.revision);
    expect((await e2.leader())?.kv.text()).toBe("second");
    await s.close();
    expect(await e2.leader()).toBeUndefined();
  });

  it("withdraws a campaign on abort, and refuses to campaign without a session", async () => {
    const [a, b] = await Promise.all([Session.create(etcd), Session.create(etcd)]);
    await new Election(a, "el/abort").campaign("a");
    const ctl = new AbortController();
    const eb = new Election(b, "el/abort");
    const pending = eb.campaign("b", { signal: ctl.signal }).catch((e) => e);
    await queued(etcd, "el/abort/", 2);
    ctl.abort();
    expect((await pending).reason).toBe("canceled");
    expect((await etcd.get("el/abort/", { prefix: true })).count).toBe(1n);
    expect(eb.key).toBeUndefined();
    const noSession = await new Election(etcd, "el/abort").campaign("x").catch((e) => e);
    expect(noSession).toBeInstanceOf(InvalidInputError);
    await Promise.all([a.close(), b.close()]);
  });

  it("withdraws a campaign aborted while the put of its key is in flight: applied, unanswered", async () => {
    const proxy = await TcpProxy.start(cluster.endpoints[0] as string);
    const viaProxy = new Etcd({ endpoints: [proxy.url], health: false });
    try {
      const [a, b] = await Promise.all([Session.create(etcd), Session.create(viaProxy)]);
      await new Election(a, "el/inflight").campaign("a");
      const eb = new Election(b, "el/inflight");
      proxy.holdResponses();
      const ctl = new AbortController();
      const pending = eb.campaign("b", { signal: ctl.signal }).catch((e) => e);
      // etcd has b's key; b has not heard so.
      await queued(etcd, "el/inflight/", 2);
      ctl.abort();
      proxy.releaseResponses();
      expect(await pending).toBeInstanceOf(ContextError);
      expect((await etcd.get("el/inflight/", { prefix: true })).count).toBe(1n);
      expect(eb.key).toBeUndefined();
      await Promise.all([a.close(), b.close()]);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it("elects the next candidate when the leader's session is lost", async () => {
    const [a, b] = await Promise.all([
      Session.create(etcd, { ttlSeconds: 2 }),
      Session.create(etcd),
    ]);
    await new Election(a, "el/lost").campaign("a");
    const eb = new Election(b, "el/lost");
    const elected = eb.campaign("b");
    await queued(etcd, "el/lost/", 2);
    a.orphan();
    await elected;
    expect((await eb.leader())?.kv.text()).toBe("b");
    await b.close();
  });
});

describe("election and etcdctl elect", () => {
  it("sees etcdctl as leader, and is elected when etcdctl resigns", async () => {
    const ctl = new Etcdctl(cluster.endpoints, ["elect", "ctl/e1", "from-go"]);
    await ctl.waitFor((out) => out.includes("from-go"));
    const [key] = ctl.lines;
    const s = await Session.create(etcd);
    const e = new Election(s, "ctl/e1");
    const leader = await e.leader();
    expect(leader?.kv.keyText).toBe(key);
    expect(leader?.kv.text()).toBe("from-go");
    const seen = observer(e);

    let elected = false;
    const campaign = e.campaign("from-js").then(() => {
      elected = true;
    });
    await queued(etcd, "ctl/e1/", 2);
    expect(elected).toBe(false);
    await ctl.interrupt(); // etcdctl resigns on Ctrl-C
    await campaign;
    expect((await e.leader())?.kv.text()).toBe("from-js");
    await eventually(() => seen.values.length >= 2);
    expect(seen.values).toEqual(["from-go", "from-js"]);
    await seen.stop();
    await e.resign();
    await s.close();
  });

  it("is seen as leader by etcdctl, which is elected when it resigns", async () => {
    const s = await Session.create(etcd);
    const e = new Election(s, "ctl/e2");
    await e.campaign("js-1");
    const listen = new Etcdctl(cluster.endpoints, ["elect", "-l", "ctl/e2"]);
    await listen.waitFor((out) => out.includes("js-1"));
    expect(listen.lines).toEqual([e.keyText, "js-1"]);
    await e.proclaim("js-2");
    await listen.waitFor((out) => out.includes("js-2"));

    const candidate = new Etcdctl(cluster.endpoints, ["elect", "ctl/e2", "go-1"]);
    await queued(etcd, "ctl/e2/", 2);
    expect(candidate.stdout).toBe("");
    await e.resign();
    await candidate.waitFor((out) => out.includes("go-1"));
    await listen.waitFor((out) => out.includes("go-1"));
    expect(listen.lines.filter((_, i) => i % 2 === 1)).toEqual(["js-1", "js-2", "go-1"]);
    expect((await e.leader())?.kv.text()).toBe("go-1");
    await candidate.interrupt();
    await listen.interrupt();
    await s.close();
  });
});
