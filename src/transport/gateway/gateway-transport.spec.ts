import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidInputError, ResponseError } from "../../errors/etcd-error.js";
import { KV, Lease } from "../../gen/etcdserverpb/rpc_pb.js";
import { createGatewayTransport } from "./gateway-transport.js";
import type { FetchFn } from "./http-post.js";

const enc = (s: string) => new TextEncoder().encode(s);
const baseUrl = "http://etcd:2379";
const header = { cluster_id: "1", member_id: "2", revision: "7", raft_term: "3" };
const compacted = "etcdserver: mvcc: required revision has been compacted";

interface Sent {
  url: string;
  headers: Headers;
  body: unknown;
}

/** A fetch that records each request and answers with the given response. */
function fakeFetch(answer: () => Response | Promise<Response>): { fetch: FetchFn; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchFn = async (url, init) => {
    sent.push({
      url,
      headers: new Headers(init.headers),
      body: JSON.parse(String(init.body)),
    });
    return answer();
  };
  return { fetch, sent };
}

/** A fetch that never answers, and rejects with the signal's reason as fetch does. */
const hangingFetch: FetchFn = (_url, init) =>
  new Promise((_, reject) => {
    init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true });
  });

const json = (body: unknown, status = 200, contentType = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": contentType } });

const kvOver = (fetch: FetchFn, defaultTimeoutMs?: number) =>
  createClient(KV, createGatewayTransport({ baseUrl, fetch, defaultTimeoutMs }));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
}

describe("unary calls", () => {
  it("POST the request as JSON to the method's path, and decode the answer", async () => {
    const { fetch, sent } = fakeFetch(() =>
      json({ header, kvs: [{ key: "Zm9v", value: "YmFy", mod_revision: "7" }], count: "1" }),
    );
    const res = await kvOver(fetch).range({ key: enc("foo"), limit: 10n });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe("http://etcd:2379/v3/kv/range");
    expect(sent[0]?.body).toEqual({ key: "Zm9v", limit: "10" });
    expect(res.count).toBe(1n);
    expect(res.kvs[0]?.value).toEqual(enc("bar"));
    expect(res.header?.revision).toBe(7n);
  });

  it("keeps a path prefix of the base URL", async () => {
    const { fetch, sent } = fakeFetch(() => json({ header }));
    const transport = createGatewayTransport({ baseUrl: "https://proxy/etcd/", fetch });
    await createClient(Lease, transport).leaseRevoke({ ID: 5n });
    expect(sent[0]?.url).toBe("https://proxy/etcd/v3/lease/revoke");
    expect(sent[0]?.body).toEqual({ ID: "5" });
  });

  it("sends the token header as Authorization, and no header etcd's CORS would refuse", async () => {
    const { fetch, sent } = fakeFetch(() => json({ header }));
    await kvOver(fetch).put(
      { key: enc("k") },
      { headers: { token: "abc.12", "x-user-agent": "me", "grpc-timeout": "1S" } },
    );
    const headers = [...(sent[0]?.headers.entries() ?? [])].sort();
    expect(headers).toEqual([
      ["accept", "application/json"],
      ["authorization", "abc.12"],
      ["content-type", "text/plain;charset=UTF-8"],
    ]);
  });

  it("sends no Authorization without a token", async () => {
    const { fetch, sent } = fakeFetch(() => json({ header }));
    await kvOver(fetch).put({ key: enc("k") });
    expect(sent[0]?.headers.has("authorization")).toBe(false);
  });

  it("sends only CORS-safelisted headers without a token, so browsers need no preflight", async () => {
    const { fetch, sent } = fakeFetch(() => json({ header }));
    await kvOver(fetch).put({ key: enc("k") }, { headers: { "x-user-agent": "me" } });
    // Fetch's safelist: accept, and content-type of text/plain, multipart/form-data or
    // application/x-www-form-urlencoded.
    for (const [name, value] of sent[0]?.headers.entries() ?? []) {
      if (name === "content-type") expect(value.split(";")[0]).toBe("text/plain");
      else expect(name).toBe("accept");
    }
    expect([...(sent[0]?.headers.keys() ?? [])].sort()).toEqual(["accept", "content-type"]);
  });

  it("refuses a bad base URL when made", () => {
    expect(() => createGatewayTransport({ baseUrl: "etcd:2379" })).toThrow(InvalidInputError);
  });

  it("fails a method without a gateway path before sending anything", async () => {
    const { fetch, sent } = fakeFetch(() => json({}));
    const transport = createGatewayTransport({ baseUrl, fetch });
    const lock = { ...KV.method.range, name: "Lock" };
    const err = await failure(transport.unary(lock, undefined, undefined, undefined, {}));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.Unimplemented });
    expect(sent).toEqual([]);
  });
});

describe("unary errors", () => {
  it("throws etcd's status with the code and message gRPC carries", async () => {
    const { fetch } = fakeFetch(() =>
      json({ error: compacted, code: 11, message: compacted }, 400),
    );
    const err = await failure(kvOver(fetch).range({ key: enc("k"), revision: 1n }));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.OutOfRange, rawMessage: compacted });
  });

  it("reads etcd 3.6's error body too", async () => {
    const { fetch } = fakeFetch(() =>
      json({ code: 16, message: "etcdserver: invalid auth token", details: [] }, 401),
    );
    const err = await failure(kvOver(fetch).range({ key: enc("k") }));
    expect(err).toMatchObject({
      code: Code.Unauthenticated,
      rawMessage: "etcdserver: invalid auth token",
    });
  });

  it.each([
    [
      "an HTML page from a proxy",
      () =>
        new Response("<html><body>Bad Gateway</body></html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        }),
      { status: 502, contentType: "text/html" },
    ],
    [
      "a 200 HTML page",
      () => new Response("<!doctype html>", { headers: { "content-type": "text/html" } }),
      { status: 200, contentType: "text/html" },
    ],
    [
      "the gateway's 404 for a path it lacks",
      () =>
        new Response("Not Found\n", {
          status: 404,
          headers: { "content-type": "text/plain; charset=utf-8" },
        }),
      { status: 404, contentType: "text/plain; charset=utf-8" },
    ],
    [
      "a body that is not JSON",
      () => new Response('{"header":', { headers: { "content-type": "application/json" } }),
      { status: 200, contentType: "application/json" },
    ],
    ["a JSON array", () => json([1]), { status: 200, contentType: "application/json" }],
    ["a field of the wrong type", () => json({ count: true }), { status: 200 }],
    [
      "an error answer without a status",
      () => json({ error: "something" }, 500),
      { status: 500, contentType: "application/json" },
    ],
    [
      "no content type",
      () => new Response("{}"),
      { status: 200, contentType: "text/plain;charset=UTF-8" },
    ],
  ])("throws a ResponseError for %s", async (_, answer, fields) => {
    const err = await failure(kvOver(fakeFetch(answer).fetch).range({ key: enc("k") }));
    expect(err).toBeInstanceOf(ResponseError);
    expect(err).toMatchObject({ kind: "response", endpoint: baseUrl, ...fields });
  });

  it("names the missing path on a 404", async () => {
    const { fetch } = fakeFetch(
      () => new Response("Not Found\n", { status: 404, headers: { "content-type": "text/plain" } }),
    );
    const err = await failure(kvOver(fetch).compact({}));
    expect((err as Error).message).toContain("/v3/kv/compaction");
  });

  it("is Unavailable, with the cause, when fetch rejects", async () => {
    const cause = new TypeError("fetch failed", { cause: new Error("ECONNREFUSED") });
    const err = await failure(kvOver(() => Promise.reject(cause)).range({ key: enc("k") }));
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.Unavailable, cause });
  });

  it("is Unavailable when the body breaks off", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc('{"header":'));
        c.error(new Error("socket hang up"));
      },
    });
    const { fetch } = fakeFetch(
      () => new Response(body, { headers: { "content-type": "application/json" } }),
    );
    const err = await failure(kvOver(fetch).range({ key: enc("k") }));
    expect(err).toMatchObject({ code: Code.Unavailable });
  });
});

describe("cancellation and time limits", () => {
  it("is Canceled when the signal fires", async () => {
    const ac = new AbortController();
    const call = kvOver(hangingFetch).range({ key: enc("k") }, { signal: ac.signal });
    ac.abort();
    const err = await failure(call);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: Code.Canceled });
  });

  it("is Canceled, sending nothing, with a signal that already fired", async () => {
    const { fetch, sent } = fakeFetch(() => json({}));
    const err = await failure(
      kvOver(fetch).range({ key: enc("k") }, { signal: AbortSignal.abort() }),
    );
    expect(err).toMatchObject({ code: Code.Canceled });
    expect(sent).toEqual([]);
  });

  it("is DeadlineExceeded at the call's timeoutMs", async () => {
    const err = await failure(kvOver(hangingFetch).range({ key: enc("k") }, { timeoutMs: 20 }));
    expect(err).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("applies defaultTimeoutMs to calls without their own", async () => {
    const err = await failure(kvOver(hangingFetch, 20).range({ key: enc("k") }));
    expect(err).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("takes timeoutMs 0 as no limit, over the default", async () => {
    let answer: (r: Response) => void = () => {};
    const fetch: FetchFn = () => new Promise((resolve) => (answer = resolve));
    const call = kvOver(fetch, 5).range({ key: enc("k") }, { timeoutMs: 0 });
    await new Promise((r) => setTimeout(r, 30));
    answer(json({ header, count: "3" }));
    expect((await call).count).toBe(3n);
  });

  it("passes an aborted signal to fetch once the call is over", async () => {
    let seen: AbortSignal | undefined;
    const fetch: FetchFn = async (_url, init) => {
      seen = init.signal ?? undefined;
      return json({ header });
    };
    await kvOver(fetch).range({ key: enc("k") }, { timeoutMs: 10_000 });
    expect(seen?.aborted).toBe(true);
  });
});
