import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ClusterError, Etcd, GrpcError, type Protocol } from "../../src/node.js";
import { refusedUrl } from "../fakes/refusal.js";

// The README promises that the same failure gives the same error on every protocol. A refused
// connection is a GrpcError "unavailable" (14) everywhere, and a write that met one was never
// sent, so it is not "maybe applied".
describe.each(["grpc", "gateway", "grpc-web"] as Protocol[])(
  "a refused connection on %s",
  (protocol) => {
    it("is GrpcError unavailable, and a write was not applied", async () => {
      const url = await refusedUrl();
      const etcd = new Etcd({
        endpoints: [url],
        protocol,
        health: false,
        retry: { maxAttempts: 1 },
      });
      try {
        for (const call of [() => etcd.get("k"), () => etcd.put("k", "v")]) {
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ClusterError);
          const cluster = err as ClusterError;
          expect(cluster.maybeApplied).toBe(false);
          const first = cluster.errors[0]?.error;
          expect(first).toBeInstanceOf(GrpcError);
          expect((first as GrpcError).code).toBe(Code.Unavailable);
          expect((first as GrpcError).codeName).toBe("unavailable");
          expect(first?.message).toContain(new URL(url).host);
        }
      } finally {
        await etcd.close();
      }
    });
  },
);
