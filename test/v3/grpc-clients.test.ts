import { describe, expect, it } from "vitest";
import {
  ClusterError,
  compare,
  Etcd,
  type GrpcClient,
  GrpcError,
  InvalidInputError,
  op,
} from "../../src/node.js";
import { onProtocol } from "./protocols.js";

// "grpc" runs on etcd-web's own HTTP/2 client by default (every other test file uses it);
// `grpcClient: "connect-node"` takes connect-node over node:http2. Both against the same etcd,
// with the same answers and the same errors.

describe.each(["etcd-web", "connect-node"] as GrpcClient[])("grpc on %s", (grpcClient) => {
  const t = onProtocol("grpc", {}, { grpcClient });

  it("puts, gets, runs a txn and watches", async () => {
    const put = await t.client.put(`${grpcClient}/a`, "1");
    expect((await t.client.get(`${grpcClient}/a`)).first?.text()).toBe("1");
    const txn = await t.client
      .txn()
      .if(compare.value(`${grpcClient}/a`, "=", "1"))
      .then(op.put(`${grpcClient}/b`, "2"))
      .commit();
    expect(txn.succeeded).toBe(true);

    const seen: string[] = [];
    for await (const res of t.client.watch(`${grpcClient}/`, {
      prefix: true,
      startRevision: put.header.revision,
    })) {
      for (const e of res.events) seen.push(`${e.type} ${e.kv.keyText}=${e.kv.text()}`);
      if (seen.length >= 2) break;
    }
    expect(seen).toEqual([`put ${grpcClient}/a=1`, `put ${grpcClient}/b=2`]);
  });

  it("carries a value of 300 KiB both ways, over the flow-control windows", async () => {
    const value = new Uint8Array(300 << 10).map((_, i) => i % 251);
    await t.client.put(`${grpcClient}/big`, value);
    expect((await t.client.get(`${grpcClient}/big`)).first?.value).toEqual(value);
  });

  it("gives etcd's reason for a read below the compaction", async () => {
    const a = await t.client.put(`${grpcClient}/c`, "1");
    await t.client.put(`${grpcClient}/c`, "2");
    await t.client.compact(a.header.revision + 1n);
    const err = await t.client
      .get(`${grpcClient}/c`, { revision: a.header.revision })
      .catch((e) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err.reason).toBe("compacted");
  });

  it("fails over a put that was never sent, and says it was not applied", async () => {
    const c = new Etcd({
      endpoints: ["http://127.0.0.1:1", ...t.endpoints],
      grpcClient,
      health: false,
    });
    try {
      await c.put(`${grpcClient}/failover`, "x");
      expect((await t.client.get(`${grpcClient}/failover`)).first?.text()).toBe("x");
      const lone = new Etcd({ endpoints: ["http://127.0.0.1:1"], grpcClient, health: false });
      const err = await lone
        .put(`${grpcClient}/never`, "x", { timeoutMs: 2_000 })
        .catch((e) => e)
        .finally(() => lone.close());
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.maybeApplied).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe("grpcClient", () => {
  it("refuses an unknown client, and any client for another protocol", () => {
    expect(
      () => new Etcd({ endpoints: ["http://127.0.0.1:1"], grpcClient: "libcurl" as GrpcClient }),
    ).toThrow(InvalidInputError);
    expect(
      () =>
        new Etcd({
          endpoints: ["http://127.0.0.1:1"],
          protocol: "gateway",
          grpcClient: "connect-node",
        }),
    ).toThrow(/grpcClient is for protocol "grpc"/);
  });
});
