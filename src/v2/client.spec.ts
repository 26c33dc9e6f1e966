import { describe, expect, it } from "vitest";
import { etcdJson, fakeFetch, refused } from "../../test/v2/fake-fetch.js";
import { InvalidInputError, ResponseError } from "../errors/etcd-error.js";
import { V2Client } from "./client.js";

const [A, B, C] = ["http://a:2379", "http://b:2379", "http://c:2379"];
const member = (name: string, url: string) => ({
  id: `${name}-id`,
  name,
  peerURLs: [url.replace("2379", "2380")],
  clientURLs: [url],
});

describe("V2Client", () => {
  it("starts on the first endpoint by default", () => {
    expect(new V2Client({ endpoints: [A, B, C] }).pinnedEndpoint).toBe(A);
    expect(new V2Client({ endpoints: [A, B, C], selectionMode: "pinned" }).pinnedEndpoint).toBe(A);
  });

  it("selectionMode 'random' shuffles the list once, then keeps its order", async () => {
    const f = fakeFetch((r) => (r.endpoint === C ? refused() : etcdJson(200, { members: [] })));
    // Fisher-Yates: i=2, j=floor(0*3)=0 swaps A and C; i=1, j=floor(0.99*2)=1 keeps B.
    const picks = [0, 0.99];
    const c = new V2Client({
      endpoints: [A, B, C],
      selectionMode: "random",
      random: () => picks.shift() ?? 0,
      fetch: f.fetch,
    });
    expect(c.pinnedEndpoint).toBe(C);
    expect(c.endpoints().map((s) => s.url)).toEqual([C, B, A]);
    await c.members.list();
    expect(f.calls.map((r) => r.endpoint)).toEqual([C, B]);
  });

  it("refuses bad options", () => {
    expect(() => new V2Client({ endpoints: [] })).toThrow(InvalidInputError);
    expect(() => new V2Client({ endpoints: ["ftp://a"] })).toThrow(InvalidInputError);
    expect(
      () => new V2Client({ endpoints: [A], selectionMode: "leader" as unknown as "pinned" }),
    ).toThrow(/selectionMode/);
    expect(() => new V2Client({ endpoints: [A], headerTimeoutPerRequestMs: -1 })).toThrow(
      /headerTimeoutPerRequestMs/,
    );
    expect(() => new V2Client({ endpoints: [A], timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });

  it("version() reads /version", async () => {
    const f = fakeFetch(() => etcdJson(200, { etcdserver: "3.4.23", etcdcluster: "3.4.0" }));
    const c = new V2Client({ endpoints: [A], fetch: f.fetch });
    await expect(c.version()).resolves.toEqual({ server: "3.4.23", cluster: "3.4.0" });
    expect(f.calls[0]?.url.pathname).toBe("/version");
  });

  it("members.list() and members.leader()", async () => {
    const f = fakeFetch((r) =>
      r.url.pathname === "/v2/members/leader"
        ? etcdJson(200, member("m1", B))
        : etcdJson(200, { members: [member("m0", A), member("m1", B)] }),
    );
    const c = new V2Client({ endpoints: [A], fetch: f.fetch });
    const list = await c.members.list();
    expect(list.map((m) => m.name)).toEqual(["m0", "m1"]);
    expect(list[1]).toEqual({
      id: "m1-id",
      name: "m1",
      peerURLs: ["http://b:2380"],
      clientURLs: [B],
    });
    await expect(c.members.leader()).resolves.toMatchObject({ name: "m1", clientURLs: [B] });
  });

  it("a members answer of the wrong shape is a ResponseError", async () => {
    const f = fakeFetch(() => etcdJson(200, { members: [{ name: "no id" }] }));
    const c = new V2Client({ endpoints: [A], fetch: f.fetch });
    await expect(c.members.list()).rejects.toBeInstanceOf(ResponseError);
  });

  it("uses the global fetch when none is given", async () => {
    const original = globalThis.fetch;
    const f = fakeFetch(() => etcdJson(200, { etcdserver: "3.5.0", etcdcluster: "3.5.0" }));
    globalThis.fetch = f.fetch as typeof fetch;
    try {
      await expect(new V2Client({ endpoints: [A] }).version()).resolves.toMatchObject({
        server: "3.5.0",
      });
    } finally {
      globalThis.fetch = original;
    }
  });
});
