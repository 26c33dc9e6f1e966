import { describe, expect, it } from "vitest";
import {
  delayedBody,
  etcdJson,
  fakeFetch,
  type Handler,
  hang,
  node,
  refused,
  reset,
  sleep,
  v2Error,
} from "../../test/v2/fake-fetch.js";
import {
  ClusterError,
  ContextError,
  InvalidInputError,
  ResponseError,
} from "../errors/etcd-error.js";
import { V2Client, type V2ClientOptions } from "./client.js";
import { V2Error } from "./v2-error.js";

const [A, B, C] = ["http://a:2379", "http://b:2379", "http://c:2379"];
const ok = () => etcdJson(200, { action: "get", node: node("/k", "v", 3) });
const created = () => etcdJson(201, { action: "create", node: node("/k", "v", 4) });

function cluster(handler: Handler, opts: Partial<V2ClientOptions> = {}) {
  const f = fakeFetch(handler);
  const c = new V2Client({
    endpoints: [A, B, C],
    fetch: f.fetch,
    retry: { backoff: { baseMs: 1, maxMs: 2 } },
    ...opts,
  });
  return { c, calls: f.calls, tried: () => f.calls.map((r) => r.endpoint) };
}

/** A one-shot call's failure: thrown as is, or as the single failure of a ClusterError. */
function only(e: unknown): unknown {
  return e instanceof ClusterError && e.errors.length === 1 ? e.errors[0]?.error : e;
}

describe("endpoints", () => {
  it("keeps using the pinned endpoint while it works", async () => {
    const { c, tried } = cluster(ok);
    for (let i = 0; i < 4; i++) await c.keys.get("/k");
    expect(tried()).toEqual([A, A, A, A]);
  });

  it("moves round-robin when an endpoint fails, and stays there", async () => {
    const down = new Set([A]);
    const { c, tried } = cluster((r) => (down.has(r.endpoint) ? refused() : ok()));
    await c.keys.get("/k");
    await c.keys.get("/k");
    expect(tried()).toEqual([A, B, B]);
    expect(c.pinnedEndpoint).toBe(B);
    expect(c.endpoints().find((s) => s.url === A)?.health).toBe("unhealthy");
    down.add(B);
    await c.keys.get("/k");
    expect(tried().slice(3)).toEqual([B, C]);
    expect(c.pinnedEndpoint).toBe(C);
  });

  it("lists each endpoint's error when all fail", async () => {
    const { c } = cluster(refused);
    const e = await c.keys.get("/k").catch((x) => x);
    expect(e).toBeInstanceOf(ClusterError);
    expect(e.errors.map((f: { endpoint: string }) => f.endpoint).slice(0, 3)).toEqual([A, B, C]);
    expect(e.errors[0].error.message).toContain("ECONNREFUSED");
  });

  it("retries a read that may have been sent on the next endpoint", async () => {
    const { c, tried } = cluster((r) => (r.endpoint === A ? reset() : ok()));
    await expect(c.keys.get("/k")).resolves.toMatchObject({ action: "get" });
    expect(tried()).toEqual([A, B]);
  });

  it.each([
    ["create", (c: V2Client) => c.keys.create("/k", "v")],
    ["createInOrder", (c: V2Client) => c.keys.createInOrder("/q", "v")],
    ["delete", (c: V2Client) => c.keys.delete("/k")],
    ["set with prevValue", (c: V2Client) => c.keys.set("/k", "v", { prevValue: "x" })],
    ["set with prevIndex", (c: V2Client) => c.keys.set("/k", "v", { prevIndex: 3 })],
  ])("does not send %s again once it may have been sent", async (_, call) => {
    const { c, tried } = cluster((r) => (r.endpoint === A ? reset() : created()));
    const e = await call(c).catch((x) => x);
    expect(e).toBeInstanceOf(ClusterError);
    expect(String((only(e) as Error).message)).toContain("ECONNRESET");
    expect(tried()).toEqual([A]);
    expect(c.pinnedEndpoint).toBe(B);
  });

  it("sends a create to the next endpoint when the first refused the connection", async () => {
    const { c, tried } = cluster((r) => (r.endpoint === A ? refused() : created()));
    await expect(c.keys.create("/k", "v")).resolves.toMatchObject({ action: "create" });
    expect(tried()).toEqual([A, B]);
  });

  it("retries a plain set and an update", async () => {
    const { c, tried } = cluster((r) => (r.endpoint === A ? reset() : created()));
    await c.keys.set("/k", "v");
    await c.keys.update("/k", "v");
    expect(tried()).toEqual([A, B, B]);
  });
});

describe("server errors", () => {
  // etcd answers 300 (raft internal) with HTTP 500 when a proposal times out, e.g. without
  // quorum, and a real 3.4 server cannot be made to answer 301 or 400 on demand: both are
  // covered here with a fake server.
  it.each([
    [300, "Raft Internal Error"],
    [301, "During Leader Election"],
  ])("moves a read on after %i (HTTP 500) from one member", async (code, message) => {
    const { c, tried } = cluster((r) =>
      r.endpoint === A ? v2Error(500, code, message, "etcdserver: request timed out") : ok(),
    );
    await expect(c.keys.get("/k", { quorum: true })).resolves.toMatchObject({ action: "get" });
    expect(tried()).toEqual([A, B]);
    expect(c.endpoints()[0]?.lastError).toMatchObject({ errorCode: code });
  });

  it("gives a write's 300 back without trying another member", async () => {
    const { c, tried } = cluster(() => v2Error(500, 300, "Raft Internal Error", "timed out", 9));
    const e = only(await c.keys.create("/k", "v").catch((x) => x));
    expect(e).toBeInstanceOf(V2Error);
    expect(e).toMatchObject({ errorCode: 300, errorCause: "timed out", index: 9, status: 500 });
    expect(tried()).toEqual([A]);
  });

  it("lists each member's 300 in the ClusterError when none can serve", async () => {
    const { c } = cluster(() => v2Error(500, 300, "Raft Internal Error"));
    const e = await c.keys.get("/k").catch((x) => x);
    expect(e).toBeInstanceOf(ClusterError);
    expect(e.errors[0].error).toBeInstanceOf(V2Error);
  });

  it("gives 4xx errors back at once: the member answered", async () => {
    const { c, tried } = cluster(() =>
      v2Error(400, 400, "watcher is cleared due to etcd recovery"),
    );
    await expect(c.keys.get("/k")).rejects.toMatchObject({ kind: "v2", errorCode: 400 });
    expect(tried()).toEqual([A]);
  });

  it("says clearly when a server does not serve v2, without trying the others", async () => {
    const { c, tried } = cluster(
      () =>
        new Response("404 page not found\n", {
          status: 404,
          headers: { "content-type": "text/plain; charset=utf-8" },
        }),
    );
    const e = await c.keys.get("/k").catch((x) => x);
    expect(e).toBeInstanceOf(ResponseError);
    expect(e.message).toContain("does not serve etcd's v2 API");
    expect(e.message).toContain("--enable-v2=true");
    expect(e).toMatchObject({ status: 404, endpoint: A });
    expect(tried()).toEqual([A]);
  });

  it("moves on from a proxy's 502", async () => {
    const { c, tried } = cluster((r) =>
      r.endpoint === A ? new Response("bad gateway", { status: 502 }) : ok(),
    );
    await c.keys.get("/k");
    expect(tried()).toEqual([A, B]);
    expect(c.endpoints()[0]?.lastError).toBeInstanceOf(ResponseError);
  });
});

describe("headerTimeoutPerRequestMs", () => {
  it("fails an endpoint whose headers do not come in time, and moves on", async () => {
    const { c, tried } = cluster((r) => (r.endpoint === A ? hang() : ok()), {
      headerTimeoutPerRequestMs: 30,
    });
    await expect(c.keys.get("/k")).resolves.toMatchObject({ action: "get" });
    expect(tried()).toEqual([A, B]);
    const a = c.endpoints()[0];
    expect(a?.health).toBe("unhealthy");
    expect(a?.lastError).toBeInstanceOf(ContextError);
    expect(a?.lastError).toMatchObject({ reason: "deadline-exceeded", endpoint: A });
  });

  it("is a ContextError for a write that may have been sent", async () => {
    const { c, tried } = cluster(hang, { headerTimeoutPerRequestMs: 30 });
    const e = only(await c.keys.create("/k", "v").catch((x) => x));
    expect(e).toBeInstanceOf(ContextError);
    expect(e).toMatchObject({ reason: "deadline-exceeded", endpoint: A });
    expect((e as Error).message).toContain("no response headers");
    expect(tried()).toEqual([A]);
  });

  it("does not limit the body once the headers came", async () => {
    const { c } = cluster(
      (r) =>
        delayedBody(
          r.signal,
          sleep(120).then(() => ({ action: "get", node: node("/k", "v", 3) })),
        ),
      { headerTimeoutPerRequestMs: 30 },
    );
    await expect(c.keys.get("/k")).resolves.toMatchObject({ node: { value: "v" } });
  });
});

describe("cancellation", () => {
  it("an abort is a ContextError 'canceled', and aborts the fetch", async () => {
    const { c, calls } = cluster(hang);
    const ac = new AbortController();
    const p = c.keys.get("/k", { signal: ac.signal });
    await sleep(5);
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: "context", reason: "canceled" });
    expect(calls[0]?.signal.aborted).toBe(true);
  });

  it("an abort while the body comes is a ContextError too", async () => {
    const { c } = cluster((r) => delayedBody(r.signal, hang()));
    const ac = new AbortController();
    const p = c.keys.get("/k", { signal: ac.signal });
    await sleep(10);
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: "context", reason: "canceled" });
  });

  it("an already aborted signal sends nothing", async () => {
    const { c, calls } = cluster(ok);
    await expect(c.keys.get("/k", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      ContextError,
    );
    expect(calls).toHaveLength(0);
  });

  it("timeoutMs limits the whole call; the client's is the default", async () => {
    const { c } = cluster(hang, { timeoutMs: 20 });
    await expect(c.keys.get("/k")).rejects.toMatchObject({ reason: "deadline-exceeded" });
    await expect(c.keys.set("/k", "v", { timeoutMs: 10 })).rejects.toMatchObject({
      reason: "deadline-exceeded",
    });
  });
});

describe("basic auth", () => {
  it("sends the username and password as UTF-8", async () => {
    const { c, calls } = cluster(ok, { username: "root", password: "pä:ss" });
    await c.keys.get("/k");
    const header = calls[0]?.headers.get("authorization") ?? "";
    expect(header.startsWith("Basic ")).toBe(true);
    const bytes = Uint8Array.from(atob(header.slice(6)), (ch) => ch.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe("root:pä:ss");
  });

  it("sends nothing without a username", async () => {
    const { c, calls } = cluster(ok);
    await c.keys.get("/k");
    expect(calls[0]?.headers.has("authorization")).toBe(false);
  });

  it("refuses a password without a username, and a ':' in a username", () => {
    expect(() => new V2Client({ endpoints: [A], password: "x" })).toThrow(InvalidInputError);
    expect(() => new V2Client({ endpoints: [A], username: "a:b" })).toThrow(InvalidInputError);
  });

  it("gives etcd's 110 back as a V2Error", async () => {
    const { c, tried } = cluster(() =>
      v2Error(401, 110, "The request requires user authentication", "Insufficient credentials"),
    );
    await expect(c.keys.get("/k")).rejects.toMatchObject({ errorCode: 110, status: 401 });
    expect(tried()).toEqual([A]);
  });
});
