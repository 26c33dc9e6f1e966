import { EtcdError } from "../errors/etcd-error.js";

/**
 * Why a recipe gave up, in the terms of Go's concurrency package:
 * - "session-expired": the session ended (lost, closed or aborted) before or while the call
 *   needed it; its lease, and every key on it, is or will be gone (Go's ErrSessionExpired).
 * - "not-leader": proclaim() without a campaign, or after the leader key was lost
 *   (Go's ErrElectionNotLeader).
 * - "too-many-conflicts": an STM transaction conflicted on every one of its attempts.
 */
export type ConcurrencyReason = "session-expired" | "not-leader" | "too-many-conflicts";

/** A session, lock, election or STM recipe could not do what was asked. */
export class ConcurrencyError extends EtcdError {
  readonly kind = "concurrency";
  override readonly name = "ConcurrencyError";

  constructor(
    readonly reason: ConcurrencyReason,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}
