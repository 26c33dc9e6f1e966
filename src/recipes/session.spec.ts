import { describe, expect, it, vi } from "vitest";
import { ContextError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import type { Clock } from "../internal/clock.js";
import { KeepAlive } from "../v3/keep-alive.js";
import { ConcurrencyError } from "./concurrency-error.js";
import type { KvClient, LeaseClient } from "./kv-client.js";
import { Session } from "./session.js";

const header = { clusterId: 1n, memberId: 2n, revision: 9n, raftTerm: 3n };

/** A client whose lease API is faked: grant gives lease 0x2a; renewals answer as told. */
function fakeClient(renew: () => Promise<{ ttl: bigint }>) {
  const revoke = vi.fn(async () => ({ header }));
  const grant = vi.fn(async (ttl: number | bigint) => ({ header, id: 42n, ttl: BigInt(ttl) }));
  let keepAlive: KeepAlive | undefined;
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  const lease = {
    grant,
    revoke,
    keepAlive: (id: number | bigint) => {
      keepAlive = new KeepAlive(BigInt(id), () => renew(), {}, clock);
      return keepAlive;
    },
  } as unknown as LeaseClient;
  const client = { lease } as KvClient;
  return { client, grant, revoke, keepAlive: () => keepAlive };
}

describe("Session", () => {
  it("grants a 60 s lease by default and revokes it once on close", async () => {
    const f = fakeClient(async () => ({ ttl: 60n }));
    const s = await Session.create(f.client);
    expect(f.grant).toHaveBeenCalledWith(60, expect.anything());
    expect(s.lease).toBe(42n);
    expect(s.leaseHex).toBe("2a");
    await s.close();
    await s.close();
    expect(f.revoke).toHaveBeenCalledTimes(1);
    expect(s.state).toBe("closed");
    expect(s.signal.reason).toBeInstanceOf(ContextError);
    expect(f.keepAlive()?.state).toBe("stopped");
  });

  it("ends on its signal, revoking the lease", async () => {
    const f = fakeClient(async () => ({ ttl: 60n }));
    const ctl = new AbortController();
    const s = await Session.create(f.client, { signal: ctl.signal });
    ctl.abort();
    await s.done;
    expect(s.state).toBe("closed");
    expect(f.revoke).toHaveBeenCalledTimes(1);
  });

  it("orphan() ends it without revoking", async () => {
    const f = fakeClient(async () => ({ ttl: 60n }));
    const s = await Session.create(f.client);
    s.orphan();
    expect(s.state).toBe("closed");
    expect(f.revoke).not.toHaveBeenCalled();
  });

  it("reports the loss of its lease through lost, done, signal and state", async () => {
    const gone = new GrpcError(5, "etcdserver: requested lease not found");
    const f = fakeClient(async () => {
      throw gone;
    });
    const s = await Session.create(f.client);
    expect(await s.lost).toBe(gone);
    await s.done;
    expect(s.state).toBe("lost");
    expect(s.signal.reason).toBeInstanceOf(ConcurrencyError);
    expect(s.signal.reason.reason).toBe("session-expired");
    expect(() => s.throwIfEnded()).toThrow(/been lost/);
    await s.close(); // nothing left to revoke
    expect(f.revoke).not.toHaveBeenCalled();
  });

  it("refuses a bad TTL before granting", async () => {
    const f = fakeClient(async () => ({ ttl: 60n }));
    await expect(Session.create(f.client, { ttlSeconds: 0 })).rejects.toThrow(/ttlSeconds/);
    expect(f.grant).not.toHaveBeenCalled();
  });
});
