import { describe, expect, it } from "vitest";
import { etcdJson, fakeFetch, node, v2Error } from "../../test/v2/fake-fetch.js";
import { InvalidInputError, ResponseError } from "../errors/etcd-error.js";
import { V2Client } from "./client.js";
import { keysPath } from "./keys.js";
import { V2Error } from "./v2-error.js";

const A = "http://a:2379";

function client(answer = () => etcdJson(200, { action: "set", node: node("/k", "v", 7) })) {
  const f = fakeFetch(answer);
  return { c: new V2Client({ endpoints: [A], fetch: f.fetch }), calls: f.calls };
}

describe("requests", () => {
  it("get sends recursive, sorted and quorum as query flags", async () => {
    const { c, calls } = client();
    await c.keys.get("/dir", { recursive: true, sort: true, quorum: true });
    await c.keys.get("/dir");
    expect(calls[0]?.method).toBe("GET");
    expect(calls[0]?.url.pathname).toBe("/v2/keys/dir");
    expect(Object.fromEntries(calls[0]?.url.searchParams ?? [])).toEqual({
      recursive: "true",
      sorted: "true",
      quorum: "true",
    });
    expect(calls[1]?.url.search).toBe("");
    expect(calls[0]?.init.cache).toBe("no-store");
  });

  it("set sends its parameters form-encoded in a PUT", async () => {
    const { c, calls } = client();
    await c.keys.set("/k", "a b&c=d", { ttl: 5, prevValue: "old", prevIndex: 3, prevExist: true });
    const req = calls[0];
    expect(req?.method).toBe("PUT");
    expect(req?.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(req?.url.search).toBe("");
    expect(Object.fromEntries(req?.form ?? [])).toEqual({
      value: "a b&c=d",
      ttl: "5",
      prevValue: "old",
      prevIndex: "3",
      prevExist: "true",
    });
  });

  it("refresh and dir send no empty value; ttl 0 and prevIndex 0 send nothing", async () => {
    const { c, calls } = client();
    await c.keys.set("/k", "", { ttl: 9, refresh: true });
    await c.keys.set("/d", "", { dir: true });
    await c.keys.set("/k", "v", { ttl: 0, prevIndex: 0 });
    expect(Object.fromEntries(calls[0]?.form ?? [])).toEqual({ ttl: "9", refresh: "true" });
    expect(Object.fromEntries(calls[1]?.form ?? [])).toEqual({ dir: "true" });
    expect(Object.fromEntries(calls[2]?.form ?? [])).toEqual({ value: "v" });
  });

  it("create, update and createInOrder", async () => {
    const { c, calls } = client();
    await c.keys.create("/k", "v", { ttl: 2 });
    await c.keys.update("/k", "w");
    await c.keys.createInOrder("/queue", "job");
    expect(Object.fromEntries(calls[0]?.form ?? [])).toEqual({
      value: "v",
      ttl: "2",
      prevExist: "false",
    });
    expect(calls[1]?.form?.get("prevExist")).toBe("true");
    expect(calls[2]?.method).toBe("POST");
    expect(calls[2]?.url.pathname).toBe("/v2/keys/queue");
    expect(Object.fromEntries(calls[2]?.form ?? [])).toEqual({ value: "job" });
  });

  it("delete sends its options in the query", async () => {
    const { c, calls } = client();
    await c.keys.delete("/d", { recursive: true, dir: true, prevValue: "x", prevIndex: 4 });
    expect(calls[0]?.method).toBe("DELETE");
    expect(calls[0]?.form).toBeUndefined();
    expect(Object.fromEntries(calls[0]?.url.searchParams ?? [])).toEqual({
      recursive: "true",
      dir: "true",
      prevValue: "x",
      prevIndex: "4",
    });
  });

  it("keeps an endpoint's path prefix", async () => {
    const f = fakeFetch(() => etcdJson(200, { action: "get", node: node("/k", "v", 1) }));
    const c = new V2Client({ endpoints: ["http://proxy:8080/etcd/"], fetch: f.fetch });
    await c.keys.get("k");
    expect(f.calls[0]?.url.href).toBe("http://proxy:8080/etcd/v2/keys/k");
  });

  it("refuses bad input before sending anything", async () => {
    const { c, calls } = client();
    await expect(c.keys.set("/k", "v", { ttl: -1 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(c.keys.set("/k", "v", { ttl: 1.5 })).rejects.toMatchObject({ field: "ttl" });
    await expect(c.keys.delete("/k", { prevIndex: -3 })).rejects.toMatchObject({
      field: "prevIndex",
    });
    await expect(c.keys.set("/k", 5 as unknown as string)).rejects.toMatchObject({
      field: "value",
    });
    await expect(c.keys.get(undefined as unknown as string)).rejects.toMatchObject({
      field: "key",
    });
    expect(calls).toHaveLength(0);
  });
});

describe("keysPath", () => {
  it("cleans the key as etcd's mux would, so no redirect turns a POST into a GET", () => {
    expect(keysPath("/foo")).toBe("/v2/keys/foo");
    expect(keysPath("foo")).toBe("/v2/keys/foo");
    expect(keysPath("//a/./b/../c/")).toBe("/v2/keys/a/c");
    expect(keysPath("/")).toBe("/v2/keys/");
    expect(keysPath("")).toBe("/v2/keys/");
  });

  it("encodes each segment", () => {
    expect(keysPath("/a b/c?d#e/%/é")).toBe("/v2/keys/a%20b/c%3Fd%23e/%25/%C3%A9");
  });
});

describe("results", () => {
  it("are etcd's JSON with the etcd index, and defaults filled in", async () => {
    const { c } = client(() =>
      etcdJson(
        200,
        {
          action: "compareAndSwap",
          node: { ...node("/k", "new", 9), ttl: 5, expiration: "2030-01-01T00:00:00Z" },
          prevNode: node("/k", "old", 8),
        },
        9,
      ),
    );
    const res = await c.keys.set("/k", "new", { prevValue: "old", ttl: 5 });
    expect(res).toEqual({
      action: "compareAndSwap",
      node: {
        key: "/k",
        value: "new",
        dir: false,
        createdIndex: 9,
        modifiedIndex: 9,
        ttl: 5,
        expiration: "2030-01-01T00:00:00Z",
      },
      prevNode: { key: "/k", value: "old", dir: false, createdIndex: 8, modifiedIndex: 8 },
      etcdIndex: 9,
    });
  });

  it("gives the root node key '/' and index 0, and nested nodes", async () => {
    const { c } = client(() =>
      etcdJson(200, {
        action: "get",
        node: { dir: true, nodes: [{ key: "/d", dir: true, nodes: [node("/d/a", "1", 3)] }] },
      }),
    );
    const res = await c.keys.get("/", { recursive: true });
    expect(res.node.key).toBe("/");
    expect(res.node.modifiedIndex).toBe(0);
    expect(res.node.nodes?.[0]?.nodes?.[0]?.value).toBe("1");
  });

  it("has no etcdIndex when the header cannot be read", async () => {
    const { c } = client(() => etcdJson(200, { action: "get", node: node("/k", "v", 3) }, null));
    expect((await c.keys.get("/k")).etcdIndex).toBeUndefined();
  });

  it("throws the server's error with its code, message, cause and index", async () => {
    const { c } = client(() => v2Error(412, 101, "Compare failed", "[old != new]", 42));
    const e = await c.keys.set("/k", "v", { prevValue: "old" }).catch((x) => x);
    expect(e).toBeInstanceOf(V2Error);
    expect(e).toMatchObject({
      errorCode: 101,
      message: "Compare failed",
      errorCause: "[old != new]",
      index: 42,
      status: 412,
      endpoint: A,
    });
  });

  it.each([
    ["not JSON", () => new Response("<html>", { status: 200 })],
    ["no action", () => etcdJson(200, { node: node("/k", "v", 1) })],
    ["a bad node", () => etcdJson(200, { action: "get", node: { key: 5 } })],
    ["bad children", () => etcdJson(200, { action: "get", node: { key: "/d", nodes: {} } })],
    ["an empty body", () => new Response("", { status: 200 })],
    ["a proxy's error", () => new Response("bad gateway", { status: 400 })],
  ])("are a ResponseError when they are %s", async (_, answer) => {
    const { c } = client(answer);
    await expect(c.keys.get("/k")).rejects.toBeInstanceOf(ResponseError);
  });
});
