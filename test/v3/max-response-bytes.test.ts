import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Etcd, type GrpcClient, GrpcError, InvalidInputError } from "../../src/node.js";
import { onProtocol } from "./protocols.js";

// maxResponseBytes, as clientv3's MaxCallRecvMsgSize: a response larger than it fails its call
// with resource-exhausted, and the client goes on. On both HTTP/2 clients of "grpc".

describe.each(["etcd-web", "connect-node"] as GrpcClient[])(
  "maxResponseBytes on %s",
  (grpcClient) => {
    const t = onProtocol("grpc", {}, { grpcClient });

    it("fails a Range larger than the limit, not a smaller one, and the client goes on", async () => {
      const limited = new Etcd({
        endpoints: t.endpoints,
        grpcClient,
        health: false,
        maxResponseBytes: 16 << 10,
      });
      try {
        await t.client.put(`${grpcClient}/mrb/small`, "x");
        await t.client.put(`${grpcClient}/mrb/big`, new Uint8Array(20 << 10));
        expect((await limited.get(`${grpcClient}/mrb/small`)).first?.text()).toBe("x");
        const err = await limited.get(`${grpcClient}/mrb/big`).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GrpcError);
        expect((err as GrpcError).code).toBe(Code.ResourceExhausted);
        // The same connection serves the next call.
        expect((await limited.get(`${grpcClient}/mrb/small`)).first?.text()).toBe("x");
      } finally {
        await limited.close();
      }
    });
  },
);

describe("maxResponseBytes", () => {
  it("is for grpc, and a positive integer", () => {
    expect(
      () =>
        new Etcd({ endpoints: ["http://127.0.0.1:1"], protocol: "gateway", maxResponseBytes: 1 }),
    ).toThrow(/maxResponseBytes is for protocol "grpc"/);
    expect(() => new Etcd({ endpoints: ["http://127.0.0.1:1"], maxResponseBytes: 0 })).toThrow(
      InvalidInputError,
    );
  });
});
