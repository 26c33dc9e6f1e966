import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterError, Etcd, type GrpcClient, InvalidInputError } from "../../src/node.js";
import type { TestCerts } from "../harness/certs.js";
import type { EtcdCluster } from "../harness/etcd.js";
import { startClientCertEtcd } from "../harness/tls-etcd.js";

// "grpc" to an etcd that serves clients over TLS and asks for a client certificate
// (--client-cert-auth), as clientv3 with Config.TLS. Certificates are made for the run.

let certs: TestCerts;
let etcd: EtcdCluster;
let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ etcd, certs, stop } = await startClientCertEtcd());
});

afterAll(() => stop?.());

describe.each(["etcd-web", "connect-node"] as GrpcClient[])("TLS over grpc on %s", (grpcClient) => {
  it("puts, gets and watches with the CA and a client certificate", async () => {
    expect(etcd.endpoints[0]).toMatch(/^https:/);
    const c = new Etcd({
      endpoints: etcd.endpoints,
      grpcClient,
      health: false,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    try {
      const put = await c.put(`tls/${grpcClient}`, "secret");
      expect((await c.get(`tls/${grpcClient}`)).first?.text()).toBe("secret");
      for await (const res of c.watch(`tls/${grpcClient}`, {
        startRevision: put.header.revision,
      })) {
        expect(res.events[0]?.kv.text()).toBe("secret");
        break;
      }
    } finally {
      await c.close();
    }
  });

  it("refuses a server whose certificate it cannot trust, and sends nothing", async () => {
    const c = new Etcd({
      endpoints: etcd.endpoints,
      grpcClient,
      health: false,
      retry: { maxAttempts: 1 },
      tls: { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey },
    });
    try {
      const err = await c
        .put(`tls/${grpcClient}/untrusted`, "x", { timeoutMs: 5_000 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.message).toMatch(/unable to verify the first certificate/);
      // The handshake failed before any request: safe to send elsewhere, not applied.
      expect(err.maybeApplied).toBe(false);
    } finally {
      await c.close();
    }
  });

  it("is refused by etcd without a client certificate", async () => {
    const c = new Etcd({
      endpoints: etcd.endpoints,
      grpcClient,
      health: false,
      retry: { maxAttempts: 1 },
      tls: { ca: certs.ca },
    });
    try {
      const err = await c
        .put(`tls/${grpcClient}/anonymous`, "x", { timeoutMs: 5_000 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect(err.message).toMatch(/bad certificate|certificate required/);
      expect(err.maybeApplied).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe("tls option", () => {
  it("is refused for protocols that go through fetch", () => {
    expect(
      () => new Etcd({ endpoints: ["https://127.0.0.1:1"], protocol: "gateway", tls: { ca: "x" } }),
    ).toThrow(InvalidInputError);
  });
});
