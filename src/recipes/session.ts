// A session, as Go's concurrency.Session: a lease kept alive for as long as the session lives.
// Locks and elections put their keys on its lease, so they vanish when the session ends.
import { ContextError, type EtcdError, InvalidInputError } from "../errors/etcd-error.js";
import type { CallOptions } from "../internal/call-options.js";
import { int64 } from "../v3/kv.js";
import { ConcurrencyError } from "./concurrency-error.js";
import type { KvClient } from "./kv-client.js";

/** Go's default session TTL. */
export const defaultSessionTtlSeconds = 60;

export interface SessionOptions {
  /** The lease's TTL in seconds: how long the keys outlive a process that dies. Default 60. */
  ttlSeconds?: number | undefined;
  /** Keep this existing lease alive instead of granting one (Go's WithLease). */
  lease?: number | bigint | undefined;
  /** Ends the session when it fires, as close() does; also cancels the grant. */
  signal?: AbortSignal | undefined;
  /** Limit on creating the session (the grant), in ms. */
  timeoutMs?: number | undefined;
}

/** alive → closed (close(), orphan() or the signal) | lost (the lease expired or was revoked). */
export type SessionState = "alive" | "closed" | "lost";

/**
 * A lease kept alive for as long as the session lives. It ends when closed, when its signal
 * fires, or when the lease is lost (expired, revoked, or not renewed within its TTL); then
 * `signal` aborts and `done` resolves. A session that ended never comes back: make another.
 */
export class Session {
  /** Aborts when the session ends: with a ContextError when closed, a ConcurrencyError when lost. */
  readonly signal: AbortSignal;
  /** Resolves when the session ends, however it ends. */
  readonly done: Promise<void>;
  /** Resolves with the error when the lease is lost; stays pending otherwise. */
  readonly lost: Promise<EtcdError>;
  private readonly ending = new AbortController();
  private readonly stopKeepAlive: () => void;
  private current: SessionState = "alive";
  private resolveLost!: (e: EtcdError) => void;
  private readonly onAbort = () => this.close().catch(() => {});

  /** Grants a lease (or adopts options.lease) and keeps it alive. */
  static async create(client: KvClient, options: SessionOptions = {}): Promise<Session> {
    const ttl = options.ttlSeconds ?? defaultSessionTtlSeconds;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) {
      throw new InvalidInputError(
        `session: ttlSeconds must be a whole number > 0, got ${ttl}`,
        "ttlSeconds",
      );
    }
    let id: bigint;
    if (options.lease !== undefined) {
      id = int64(options.lease, "lease");
      if (id === 0n) throw new InvalidInputError("session: a lease ID must be > 0", "lease");
    } else {
      const grant = await client.lease.grant(ttl, {
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      id = grant.id;
    }
    const session = new Session(client, id, ttl, options.signal);
    if (options.signal?.aborted) await session.close();
    return session;
  }

  private constructor(
    /** The client (or namespace) the session's keys are written through. */
    readonly client: KvClient,
    /** The lease ID. */
    readonly lease: bigint,
    /** The TTL asked for, in seconds. */
    readonly ttlSeconds: number,
    private readonly parent: AbortSignal | undefined,
  ) {
    this.signal = this.ending.signal;
    this.done = new Promise((resolve) =>
      this.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
    const keepAlive = client.lease.keepAlive(lease);
    this.stopKeepAlive = () => keepAlive.stop();
    void keepAlive.lost.then((e) => this.end("lost", e));
    parent?.addEventListener("abort", this.onAbort, { once: true });
  }

  get state(): SessionState {
    return this.current;
  }

  /** The lease ID in lowercase hex, as it appears in lock and election keys. */
  get leaseHex(): string {
    return this.lease.toString(16);
  }

  /**
   * Ends the session and revokes its lease, which deletes its keys (locks held, campaigns).
   * If the revoke fails the lease still expires after its TTL. Safe to call twice.
   */
  async close(options: CallOptions = {}): Promise<void> {
    if (!this.end("closed")) return;
    // If the revoke takes longer than the TTL, the lease has expired anyway (as Go's Close).
    await this.client.lease.revoke(this.lease, {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.ttlSeconds * 1000,
    });
  }

  /** Ends the session without revoking: its keys live on until the lease's TTL runs out. */
  orphan(): void {
    this.end("closed");
  }

  /** Throws a ConcurrencyError "session-expired" unless the session is alive. */
  throwIfEnded(): void {
    if (this.current === "alive") return;
    throw new ConcurrencyError(
      "session-expired",
      `the session (lease ${this.leaseHex}) has ${this.current === "lost" ? "been lost" : "been closed"}`,
      { cause: this.signal.reason },
    );
  }

  private end(state: "closed" | "lost", error?: EtcdError): boolean {
    if (this.current !== "alive") return false;
    this.current = state;
    this.parent?.removeEventListener("abort", this.onAbort);
    this.stopKeepAlive();
    if (state === "lost" && error) {
      this.resolveLost(error);
      const message = `the session's lease ${this.leaseHex} was lost: ${error.message}`;
      this.ending.abort(new ConcurrencyError("session-expired", message, { cause: error }));
    } else {
      this.ending.abort(new ContextError("canceled", { message: "the session was closed" }));
    }
    return true;
  }
}
