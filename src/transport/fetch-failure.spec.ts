import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { fetchFailure } from "./fetch-failure.js";

describe("fetchFailure", () => {
  const failed = new TypeError("Failed to fetch");

  it("is Unavailable and keeps the cause, so failover can read node's error code", () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    const e = fetchFailure("http://127.0.0.1:1/etcdserverpb.KV/Range", refused, undefined);
    expect(e).toBeInstanceOf(ConnectError);
    expect(e.code).toBe(Code.Unavailable);
    expect(e.cause).toBe(refused);
    expect(e.rawMessage).toBe(
      "cannot reach http://127.0.0.1:1/etcdserverpb.KV/Range: fetch failed",
    );
  });

  it("in a page, names the page's origin and both likely causes for another origin", () => {
    const e = fetchFailure("http://127.0.0.1:2379/v3/kv/range", failed, "http://localhost:5173");
    expect(e.rawMessage).toBe(
      "cannot reach http://127.0.0.1:2379/v3/kv/range: Failed to fetch (from a page on http://localhost:5173: either http://127.0.0.1:2379 is down, or it does not allow this origin through CORS: etcd's --cors, or etcd-web-bridge's --allow-origin, must list http://localhost:5173)",
    );
  });

  it("says nothing of CORS for a request to the page's own origin", () => {
    const e = fetchFailure("http://localhost:5173/etcd/x", failed, "http://localhost:5173");
    expect(e.rawMessage).toBe("cannot reach http://localhost:5173/etcd/x: Failed to fetch");
  });
});
