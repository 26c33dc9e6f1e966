import { describe, expect, it } from "vitest";
import {
  delayedBody,
  etcdJson,
  type FakeRequest,
  fakeFetch,
  hang,
  node,
  sleep,
  v2Error,
} from "../../test/v2/fake-fetch.js";
import { ClusterError, ContextError, InvalidInputError } from "../errors/etcd-error.js";
import { V2Client } from "./client.js";
import type { V2WatchEvent } from "./types.js";
import type { V2Watcher } from "./watcher.js";

const A = "http://a:2379";

/** A fake etcd that answers each request with the next of `answers`, then hangs. */
function server(...answers: Array<(r: FakeRequest) => Response | Promise<Response>>) {
  let i = 0;
  const f = fakeFetch((r) => {
    const next = answers[i++];
    return next ? next(r) : hang();
  });
  const c = new V2Client({ endpoints: [A], fetch: f.fetch, retry: { maxAttempts: 1 } });
  return { c, calls: f.calls };
}

const event = (action: string, key: string, value: string, index: number) => () =>
  etcdJson(200, { action, node: node(key, value, index) }, index - 1);

async function take(w: V2Watcher, n: number): Promise<V2WatchEvent[]> {
  const out: V2WatchEvent[] = [];
  for await (const ev of w) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

const params = (r: FakeRequest | undefined) => Object.fromEntries(r?.url.searchParams ?? []);

describe("watcher", () => {
  it("waits with wait=true and goes on at modifiedIndex + 1", async () => {
    const { c, calls } = server(event("set", "/k", "1", 10), event("delete", "/k", "", 14));
    const w = c.keys.watcher("/k");
    const evs = await take(w, 2);
    expect(evs.map((e) => e.action)).toEqual(["set", "delete"]);
    expect(params(calls[0])).toEqual({ wait: "true" });
    expect(params(calls[1])).toEqual({ wait: "true", waitIndex: "11" });
    expect(w.afterIndex).toBe(14);
  });

  it("starts after afterIndex, recursively when asked", async () => {
    const { c, calls } = server(event("set", "/d/a", "1", 6));
    await take(c.keys.watcher("/d", { afterIndex: 5, recursive: true }), 1);
    expect(calls[0]?.url.pathname).toBe("/v2/keys/d");
    expect(params(calls[0])).toEqual({ wait: "true", recursive: "true", waitIndex: "6" });
  });

  it("goes on where it stopped when iterated again", async () => {
    const { c, calls } = server(event("set", "/k", "1", 10), event("set", "/k", "2", 11));
    const w = c.keys.watcher("/k");
    await take(w, 1);
    const [second] = await take(w, 1);
    expect(second?.action === "set" && second.node.value).toBe("2");
    expect(params(calls[1]).waitIndex).toBe("11");
  });

  it("resyncs on 401: yields the key's state and goes on after its etcd index", async () => {
    const { c, calls } = server(
      () => v2Error(400, 401, "The event in requested index is outdated and cleared", "", 2000),
      () => etcdJson(200, { action: "get", node: node("/k", "now", 1990) }, 2003),
      event("set", "/k", "next", 2004),
    );
    const w = c.keys.watcher("/k", { afterIndex: 5, recursive: true });
    const [resync, next] = await take(w, 2);
    expect(resync).toMatchObject({
      action: "resync",
      node: { key: "/k", value: "now" },
      lostAfter: 5,
      etcdIndex: 2003,
      error: { errorCode: 401, index: 2000 },
    });
    expect(params(calls[1])).toEqual({ recursive: "true", quorum: "true" });
    expect(params(calls[2]).waitIndex).toBe("2004");
    expect(next?.action).toBe("set");
  });

  it("without X-Etcd-Index, resyncs after the highest index it knows the read holds", async () => {
    const { c, calls } = server(
      () => v2Error(400, 401, "cleared", "", 2000),
      () =>
        etcdJson(
          200,
          { action: "get", node: { key: "/d", dir: true, nodes: [node("/d/a", "x", 2002)] } },
          null,
        ),
    );
    const ac = new AbortController();
    const w = c.keys.watcher("/d", { afterIndex: 5, recursive: true, signal: ac.signal });
    const [resync] = await take(w, 1);
    expect(resync).toMatchObject({ action: "resync", etcdIndex: 2002 });
    const rest = take(w, 1);
    await sleep(10);
    ac.abort();
    expect(await rest).toEqual([]);
    expect(params(calls[2]).waitIndex).toBe("2003");
  });

  it("resyncs to 'absent' when the key is gone", async () => {
    const { c } = server(
      () => v2Error(400, 401, "cleared", "", 2000),
      () => v2Error(404, 100, "Key not found", "/k", 2001),
    );
    const [resync] = await take(c.keys.watcher("/k", { afterIndex: 5 }), 1);
    expect(resync).toMatchObject({ action: "resync", node: undefined, etcdIndex: 2001 });
  });

  it("waits again from the same index on 400 (watcher cleared) and on an empty answer", async () => {
    const { c, calls } = server(
      () => v2Error(400, 400, "watcher is cleared due to etcd recovery"),
      (r) => delayedBody(r.signal, Promise.resolve(undefined)),
      event("set", "/k", "1", 9),
    );
    const [ev] = await take(c.keys.watcher("/k", { afterIndex: 7 }), 1);
    expect(ev?.action).toBe("set");
    expect(calls.map((r) => params(r).waitIndex)).toEqual(["8", "8", "8"]);
  });

  it("waits again when Node's fetch gives up on a silent body, without failing the endpoint", async () => {
    const bodyTimeout = new TypeError("terminated", {
      cause: Object.assign(new Error("Body Timeout Error"), { code: "UND_ERR_BODY_TIMEOUT" }),
    });
    const { c, calls } = server(
      (r) => delayedBody(r.signal, Promise.reject(bodyTimeout)),
      event("set", "/k", "1", 9),
    );
    const [ev] = await take(c.keys.watcher("/k", { afterIndex: 7 }), 1);
    expect(ev?.action).toBe("set");
    expect(calls.map((r) => params(r).waitIndex)).toEqual(["8", "8"]);
    expect(c.endpoints()[0]?.health).toBe("healthy");
  });

  it("ends quietly when its signal fires while it waits, as a v3 watch does", async () => {
    const { c, calls } = server((r) => delayedBody(r.signal, hang()));
    const ac = new AbortController();
    const p = take(c.keys.watcher("/k", { signal: ac.signal }), 1);
    await sleep(10);
    ac.abort();
    expect(await p).toEqual([]);
    // The poll in flight was aborted with it.
    expect(calls[0]?.signal.aborted).toBe(true);
  });

  it("ends quietly when its signal fired between events, and at once when it already had", async () => {
    const { c, calls } = server(event("set", "/k", "1", 9), (r) => delayedBody(r.signal, hang()));
    const ac = new AbortController();
    const w = c.keys.watcher("/k", { signal: ac.signal });
    const seen: string[] = [];
    for await (const ev of w) {
      seen.push(ev.action);
      ac.abort();
    }
    expect(seen).toEqual(["set"]);
    expect(calls).toHaveLength(1);
    expect(await take(c.keys.watcher("/k", { signal: ac.signal }), 1)).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it("ends with a ContextError when its timeoutMs passes, even with a signal", async () => {
    // Only the caller's own abort ends it quietly: a deadline is a failure to report.
    const { c } = server((r) => delayedBody(r.signal, hang()));
    const ac = new AbortController();
    const e = await take(c.keys.watcher("/k", { signal: ac.signal, timeoutMs: 20 }), 1).catch(
      (x) => x,
    );
    expect(e).toMatchObject({ kind: "context", reason: "deadline-exceeded" });
  });

  it("is not cut by headerTimeoutPerRequestMs once etcd sent the headers", async () => {
    const f = fakeFetch((r) =>
      delayedBody(
        r.signal,
        sleep(100).then(() => ({ action: "set", node: node("/k", "v", 3) })),
      ),
    );
    const c = new V2Client({ endpoints: [A], fetch: f.fetch, headerTimeoutPerRequestMs: 20 });
    const [ev] = await take(c.keys.watcher("/k"), 1);
    expect(ev?.action).toBe("set");
  });

  it("ends with the error when no endpoint answers, and the client's timeout does not apply", async () => {
    const f = fakeFetch(() => {
      throw new TypeError("fetch failed");
    });
    const c = new V2Client({
      endpoints: [A],
      fetch: f.fetch,
      timeoutMs: 1,
      retry: { maxAttempts: 2, backoff: { baseMs: 5 } },
    });
    await expect(take(c.keys.watcher("/k"), 1)).rejects.toBeInstanceOf(ClusterError);
  });

  it("ends with other server errors", async () => {
    const { c } = server(() => v2Error(401, 110, "The request requires user authentication"));
    await expect(take(c.keys.watcher("/k"), 1)).rejects.toMatchObject({ errorCode: 110 });
  });

  it("refuses a bad afterIndex", () => {
    const { c } = server();
    expect(() => c.keys.watcher("/k", { afterIndex: -1 })).toThrow(InvalidInputError);
  });

  it("timeoutMs limits the whole watch", async () => {
    const { c } = server((r) => delayedBody(r.signal, hang()));
    const e = await take(c.keys.watcher("/k", { timeoutMs: 20 }), 1).catch((x) => x);
    expect(e).toBeInstanceOf(ContextError);
    expect(e.reason).toBe("deadline-exceeded");
  });
});
