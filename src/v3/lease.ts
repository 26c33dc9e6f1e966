import { Code } from "@connectrpc/connect";
import { InvalidInputError } from "../errors/etcd-error.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Lease as LeaseService } from "../gen/etcdserverpb/rpc_ref.js";
import type { CallOptions } from "../internal/call-options.js";
import type { Clock } from "../internal/clock.js";
import { serverStreaming } from "../wire/service-ref.js";
import type { AttemptOptions, Caller, Connection } from "./connection.js";
import { KeepAlive, type KeepAliveOptions } from "./keep-alive.js";
import { header, type ResponseHeader } from "./key-value.js";
import { int64 } from "./kv.js";

export interface LeaseGrant {
  header: ResponseHeader;
  /** The lease ID, to pass as `lease` to put(). */
  id: bigint;
  /** The TTL etcd granted, in seconds. */
  ttl: bigint;
}

export interface LeaseTimeToLive {
  header: ResponseHeader;
  id: bigint;
  /** Seconds left; -1n when the lease has expired or does not exist. */
  ttl: bigint;
  grantedTtl: bigint;
  /** The keys attached, with the keys option. */
  keys: Uint8Array[];
}

export interface LeaseKeepAliveResult {
  header: ResponseHeader;
  id: bigint;
  /** The renewed TTL, in seconds. */
  ttl: bigint;
}

const keepAliveOnce = serverStreaming(LeaseService.methods.leaseKeepAlive);

/** Leases: grant, revoke, timeToLive, leases, keepAliveOnce and keepAlive. */
export class LeaseApi {
  /** @internal */
  constructor(
    private readonly caller: Caller,
    private readonly clock: Clock,
  ) {}

  /** Grants a lease of ttlSeconds; `id` asks for a particular ID (0 lets etcd choose). */
  async grant(
    ttlSeconds: number | bigint,
    options: { id?: number | bigint } & CallOptions = {},
  ): Promise<LeaseGrant> {
    const TTL = int64(ttlSeconds, "ttlSeconds");
    if (TTL === 0n)
      throw new InvalidInputError("lease.grant: the TTL must be > 0 seconds", "ttlSeconds");
    const request = { TTL, ID: int64(options.id, "id") };
    // Not idempotent: a repeat would grant a second lease.
    return this.caller.unary(options, false, async (c, a) => {
      const res = await c.lease.leaseGrant(request, a);
      if (res.error) throw new GrpcError(Code.FailedPrecondition, res.error);
      return { header: header(res.header, "lease grant"), id: res.ID, ttl: res.TTL };
    });
  }

  /** Revokes a lease; the keys attached to it are deleted. */
  async revoke(
    id: number | bigint,
    options: CallOptions = {},
  ): Promise<{ header: ResponseHeader }> {
    const ID = leaseId(id);
    // Not retried once sent: a repeat of a revoke that was applied answers "lease not found".
    return this.caller.unary(options, false, async (c, a) => ({
      header: header((await c.lease.leaseRevoke({ ID }, a)).header, "lease revoke"),
    }));
  }

  /** How long a lease has left, and with `keys` the keys attached to it. */
  async timeToLive(
    id: number | bigint,
    options: { keys?: boolean } & CallOptions = {},
  ): Promise<LeaseTimeToLive> {
    const ID = leaseId(id);
    return this.caller.unary(options, true, async (c, a) => {
      const res = await c.lease.leaseTimeToLive({ ID, keys: options.keys ?? false }, a);
      return {
        header: header(res.header, "lease timeToLive"),
        id: res.ID,
        ttl: res.TTL,
        grantedTtl: res.grantedTTL,
        keys: res.keys,
      };
    });
  }

  /** Every lease's ID. */
  async leases(options: CallOptions = {}): Promise<bigint[]> {
    return this.caller.unary(options, true, async (c, a) =>
      (await c.lease.leaseLeases({}, a)).leases.map((l) => l.ID),
    );
  }

  /** Renews a lease once. A lease that expired or was revoked fails with reason "lease-not-found". */
  async keepAliveOnce(
    id: number | bigint,
    options: CallOptions = {},
  ): Promise<LeaseKeepAliveResult> {
    const ID = leaseId(id);
    return this.caller.unary(options, true, (c, a) => renewOnce(c, a, ID));
  }

  /**
   * Keeps a lease alive, renewing it every TTL/3, until options.signal fires or stop().
   * The returned KeepAlive tells when the lease is lost: expired, revoked, or not renewed
   * within its TTL because no endpoint answered.
   */
  keepAlive(id: number | bigint, options: KeepAliveOptions = {}): KeepAlive {
    const ID = leaseId(id);
    return new KeepAlive(
      ID,
      (signal, timeoutMs) =>
        this.caller.unary({ signal, timeoutMs }, true, (c, a) => renewOnce(c, a, ID)),
      options,
      this.clock,
    );
  }
}

/**
 * One renewal as a one-request call: LeaseKeepAlive answers one request and ends when the
 * client half-closes, on every protocol, so this needs no long-lived stream.
 */
async function renewOnce(
  c: Connection,
  a: AttemptOptions,
  ID: bigint,
): Promise<LeaseKeepAliveResult> {
  const responses = await c.transport.stream(
    keepAliveOnce,
    a,
    (async function* () {
      yield { ID };
    })(),
  );
  for await (const m of responses) {
    if (m.TTL <= 0n) {
      throw new GrpcError(Code.NotFound, "etcdserver: requested lease not found");
    }
    return { header: header(m.header, "lease keepAlive"), id: m.ID, ttl: m.TTL };
  }
  throw new GrpcError(Code.Unavailable, "the lease keepAlive stream ended without an answer");
}

function leaseId(id: number | bigint): bigint {
  const ID = int64(id, "id");
  if (ID === 0n) throw new InvalidInputError("a lease ID must be > 0", "id");
  return ID;
}
