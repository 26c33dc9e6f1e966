import { describe, expect, it } from "vitest";
import { Etcd, GrpcError, type Protocol } from "../../src/node.js";
import type { KeepAlive } from "../../src/v3/keep-alive.js";
import { eventually } from "../harness/wait.js";
import { onProtocol, protocolEndpoints } from "./protocols.js";

/**
 * Resolves with the number of renewals at the first renewal that lands at least `ms` from now;
 * rejects at once if the lease is lost meanwhile.
 */
function renewedFor(ka: KeepAlive, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let renewals = 0;
  return new Promise((resolve, reject) => {
    const off = ka.onRenew(() => {
      renewals++;
      if (Date.now() < until) return;
      off();
      resolve(renewals);
    });
    ka.lost.then((e) => {
      off();
      reject(e);
    });
  });
}

describe.each(protocolEndpoints.names)("leases over %s", (protocol: Protocol) => {
  const t = onProtocol(protocol);

  it("grants, attaches keys, reads TTL and keys, lists, renews once and revokes", async () => {
    const lease = await t.client.lease.grant(30);
    expect(lease.ttl).toBe(30n);
    await t.client.put("lease/a", "1", { lease: lease.id });
    await t.client.put("lease/b", "2", { lease: lease.id });
    const ttl = await t.client.lease.timeToLive(lease.id, { keys: true });
    expect(ttl.grantedTtl).toBe(30n);
    expect(ttl.ttl).toBeGreaterThan(25n);
    expect(ttl.keys.map((k) => new TextDecoder().decode(k)).sort()).toEqual(["lease/a", "lease/b"]);
    expect(await t.client.lease.leases()).toContain(lease.id);
    expect((await t.client.get("lease/a")).first?.lease).toBe(lease.id);
    const renewed = await t.client.lease.keepAliveOnce(lease.id);
    expect(renewed.ttl).toBe(30n);

    await t.client.lease.revoke(lease.id);
    expect((await t.client.get("lease/", { prefix: true })).count).toBe(0n);
    expect((await t.client.lease.timeToLive(lease.id)).ttl).toBe(-1n);
    const err = await t.client.lease.keepAliveOnce(lease.id).catch((e) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err.reason).toBe("lease-not-found");
    const put = await t.client.put("lease/c", "x", { lease: lease.id }).catch((e) => e);
    expect(put.reason).toBe("lease-not-found");
  });

  it("keepAlive renews past the TTL until stopped, and reports a revoke as a loss", async () => {
    const lease = await t.client.lease.grant(2);
    await t.client.put("ka/key", "alive", { lease: lease.id });
    const ctl = new AbortController();
    const ka = t.client.lease.keepAlive(lease.id, { signal: ctl.signal });
    // Past twice its TTL, renewed all along.
    const renewals = await renewedFor(ka, 4000);
    expect(ka.state).toBe("alive");
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect((await t.client.get("ka/key")).first?.text()).toBe("alive");
    ctl.abort();
    expect(ka.state).toBe("stopped");

    const other = await t.client.lease.grant(5);
    const ka2 = t.client.lease.keepAlive(other.id);
    await new Promise((r) => ka2.onRenew(r));
    await t.client.lease.revoke(other.id);
    const lost = await ka2.lost;
    expect(ka2.state).toBe("lost");
    expect(lost).toBeInstanceOf(GrpcError);
    expect((lost as GrpcError).reason).toBe("lease-not-found");
    // The first lease, no longer renewed, expires (its TTL is 2 s).
    await eventually(async () => (await t.client.get("ka/key")).first === undefined, 10_000);
  });
});

describe.each(protocolEndpoints.names)(
  "lease keepAlive in a 3-member cluster over %s",
  (protocol) => {
    const t = onProtocol(protocol, { size: 3 });

    it("survives a leader change, and reports loss when the members are gone", async () => {
      const etcd = t.etcd;
      const client = new Etcd({
        endpoints: t.endpoints,
        protocol,
        health: false,
        dialTimeoutMs: 1000,
      });
      try {
        // A TTL that leaves renewals room for a leader election on a loaded machine.
        const lease = await client.lease.grant(6);
        const ka = client.lease.keepAlive(lease.id);
        await new Promise((r) => ka.onRenew(r));
        const leaderId = await etcd.waitForLeader();
        const statuses = await Promise.all(
          etcd.members.map(async (m) => {
            const one = new Etcd({ endpoints: [m.clientUrl], health: false });
            try {
              return { m, id: (await one.maintenance.status()).header.memberId };
            } finally {
              await one.close();
            }
          }),
        );
        const leader = statuses.find((s) => s.id.toString() === leaderId)?.m;
        expect(leader).toBeDefined();
        await leader?.kill();
        await etcd.waitForLeader();
        // Renewed through the election and for longer than the TTL after it.
        await renewedFor(ka, 7000);
        expect(ka.state).toBe("alive");
        const ttl = await client.lease.timeToLive(lease.id);
        expect(ttl.ttl).toBeGreaterThan(0n);

        for (const m of etcd.members) if (m.running) await m.kill();
        const lost = await ka.lost;
        expect(ka.state).toBe("lost");
        expect(lost.message).toMatch(/not renewed within its TTL/);
      } finally {
        await client.close();
      }
    });
  },
);
