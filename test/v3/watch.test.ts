import { describe, expect, it } from "vitest";
import {
  compare,
  Etcd,
  GrpcError,
  op,
  type Protocol,
  type WatchEvent,
  type Watcher,
} from "../../src/node.js";
import { eventually as waitUntil } from "../harness/wait.js";
import { onProtocol, protocolEndpoints } from "./protocols.js";

async function collect(w: Watcher, count: number, timeoutMs = 10_000): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const timer = setTimeout(() => w.cancel(), timeoutMs);
  try {
    for await (const res of w) {
      events.push(...res.events);
      if (events.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return events;
}

let lastGauge = 0;
async function watcherGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("etcd_debugging_mvcc_watcher_total "));
  lastGauge = Number(line?.split(" ")[1] ?? Number.NaN);
  return lastGauge;
}

function eventually(check: () => Promise<boolean>): Promise<void> {
  return waitUntil(check, 10_000, () => `watcher gauge last read ${lastGauge}`);
}

describe.each(protocolEndpoints.names)("watch over %s", (protocol: Protocol) => {
  const t = onProtocol(protocol);

  it("delivers puts and deletes with prevKv, in order", async () => {
    const w = t.client.watch("w1/", { prefix: true, prevKv: true });
    const got = collect(w, 4);
    await w.ready({ timeoutMs: 10_000 });
    await t.client.put("w1/a", "1");
    await t.client.put("w1/b", "2");
    await t.client.put("w1/a", "3");
    await t.client.delete("w1/b");
    const events = await got;
    expect(events.map((e) => [e.type, e.kv.keyText, e.kv.text()])).toEqual([
      ["put", "w1/a", "1"],
      ["put", "w1/b", "2"],
      ["put", "w1/a", "3"],
      ["delete", "w1/b", ""],
    ]);
    expect(events[2]?.prevKv?.text()).toBe("1");
    expect(events[3]?.prevKv?.text()).toBe("2");
    const revs = events.map((e) => e.kv.modRevision);
    expect([...revs].sort((a, b) => (a < b ? -1 : 1))).toEqual(revs);
    expect(w.state).toBe("closed");
  });

  it("replays history from startRevision, with filters", async () => {
    const first = await t.client.put("w2/x", "a");
    await t.client.delete("w2/x");
    await t.client.put("w2/x", "b");
    const w = t.client.watch("w2/x", {
      startRevision: first.header.revision,
      filters: { noDelete: true },
    });
    const events = await collect(w, 2);
    expect(events.map((e) => e.kv.text())).toEqual(["a", "b"]);
  });

  it("ends a watch on a compacted revision with a 'compacted' GrpcError", async () => {
    const a = await t.client.put("w3", "1");
    const b = await t.client.put("w3", "2");
    await t.client.compact(b.header.revision);
    const w = t.client.watch("w3", { startRevision: a.header.revision });
    const err = await collect(w, 1).catch((e) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err.reason).toBe("compacted");
    expect(err.compactRevision).toBe(b.header.revision);
    expect(w.state).toBe("failed");
  });

  it("closes the server-side watch on abort, and keeps the others", async () => {
    const url = t.etcd.member(0).clientUrl;
    // Every earlier watch has ended, so etcd must have closed them all.
    await eventually(async () => (await watcherGauge(url)) === 0);
    const keeper = t.client.watch("w4/keeper");
    await keeper.ready({ timeoutMs: 10_000 });
    await eventually(async () => (await watcherGauge(url)) === 1);
    const ctl = new AbortController();
    const w = t.client.watch("w4", { signal: ctl.signal });
    await w.ready({ timeoutMs: 10_000 });
    await eventually(async () => (await watcherGauge(url)) === 2);
    ctl.abort();
    expect(w.state).toBe("closed");
    await eventually(async () => (await watcherGauge(url)) === 1);
    expect(keeper.state).toBe("watching");
    const got = collect(keeper, 1);
    await t.client.put("w4/keeper", "still here");
    expect((await got).map((e) => e.kv.text())).toEqual(["still here"]);
    await eventually(async () => (await watcherGauge(url)) === 0);
  });

  it("ends each watch on the server, whatever ends it: abort, leaving the loop, cancel(), close()", async () => {
    const url = t.etcd.member(0).clientUrl;
    await eventually(async () => (await watcherGauge(url)) === 0);
    const ending = [
      async (c: Etcd) => {
        const ctl = new AbortController();
        const w = c.watch("w7/abort", { signal: ctl.signal });
        await w.ready({ timeoutMs: 10_000 });
        return () => ctl.abort();
      },
      async (c: Etcd) => {
        const w = c.watch("w7/loop");
        await w.ready({ timeoutMs: 10_000 });
        const left = (async () => {
          for await (const _ of w) break;
        })();
        return async () => {
          await c.put("w7/loop", "x");
          await left;
        };
      },
      async (c: Etcd) => {
        const w = c.watch("w7/cancel");
        await w.ready({ timeoutMs: 10_000 });
        return () => w.cancel();
      },
    ];
    // Each way ends the last watch of its client's stream (the WebSocket on the gateway); the
    // last client keeps one watch open and ends it with close().
    for (const start of ending) {
      const c = new Etcd({ endpoints: t.endpoints, protocol, health: false });
      try {
        const end = await start(c);
        await eventually(async () => (await watcherGauge(url)) === 1);
        await end();
        await eventually(async () => (await watcherGauge(url)) === 0);
      } finally {
        await c.close();
      }
    }
    const c = new Etcd({ endpoints: t.endpoints, protocol, health: false });
    const w = c.watch("w7/close");
    await w.ready({ timeoutMs: 10_000 });
    await eventually(async () => (await watcherGauge(url)) === 1);
    await c.close();
    expect(w.state).toBe("closed");
    await eventually(async () => (await watcherGauge(url)) === 0);
  });

  it("keeps other watches going when one consumer throws", async () => {
    const bad = t.client.watch("w5/bad");
    const good = t.client.watch("w5/good");
    await bad.ready({ timeoutMs: 10_000 });
    await good.ready({ timeoutMs: 10_000 });
    const failing = (async () => {
      for await (const _ of bad) throw new Error("consumer bug");
    })().catch((e: unknown) => e);
    const got = collect(good, 2);
    await t.client.put("w5/bad", "x");
    expect(await failing).toMatchObject({ message: "consumer bug" });
    expect(bad.state).toBe("closed");
    await t.client.put("w5/good", "1");
    await t.client.put("w5/good", "2");
    expect((await got).map((e) => e.kv.text())).toEqual(["1", "2"]);
  });

  it("delivers exactly 1,000 events in order while its member (or bridge) restarts twice", async () => {
    const w = t.client.watch("w6/", { prefix: true });
    await w.ready({ timeoutMs: 10_000 });
    let breaks = 0;
    w.onStateChange((s) => {
      if (s === "reconnecting") breaks++;
    });
    const got = collect(w, 1000, 60_000);
    const writer = new Etcd({ endpoints: t.etcd.endpoints, protocol: "grpc", health: false });
    const key = (i: number) => `w6/${String(i).padStart(4, "0")}`;
    try {
      for (let i = 0; i < 1000; i++) {
        if (i === 300 || i === 700) {
          // grpc-web: restart the bridge the watch goes through; else the member itself.
          if (!(await t.restartProxy(0))) await t.etcd.member(0).restart();
        }
        await createOnce(writer, key(i));
      }
    } finally {
      await writer.close();
    }
    const events = await got;
    expect(events).toHaveLength(1000);
    expect(events.map((e) => e.kv.keyText)).toEqual(Array.from({ length: 1000 }, (_, i) => key(i)));
    expect(events.every((e) => e.type === "put")).toBe(true);
    // Both restarts broke the watch's stream, and it resumed each time.
    expect(breaks).toBeGreaterThanOrEqual(2);
  });
});

/** A put that is safe to retry: it applies only if the key does not exist yet. */
async function createOnce(c: Etcd, key: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await c
        .txn()
        .if(compare.version(key, "=", 0))
        .then(op.put(key, "v"))
        .commit();
      return;
    } catch (e) {
      if (attempt > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
