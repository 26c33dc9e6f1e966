import { ClusterError, ContextError, type EndpointFailure } from "../errors/etcd-error.js";
import { type BackoffOptions, backoffDelay, sleep } from "../internal/backoff.js";
import { type Clock, systemClock } from "../internal/clock.js";
import type { Deadline } from "../internal/deadline.js";
import type { EndpointPool } from "./endpoint-pool.js";

export interface RetryOptions {
  /** Attempts in all, across endpoints and rounds. Default: 2 rounds of every endpoint, at least 3. */
  maxAttempts?: number;
  /** Time budget for all attempts, in ms, on top of the call's own deadline. Default 10 s. */
  budgetMs?: number;
  /** Backoff between rounds of endpoints. */
  backoff?: BackoffOptions;
}

/** What a failed attempt means. */
export interface AttemptVerdict {
  /** The error the caller would see, already one of etcd-web's. */
  error: Error;
  /** The endpoint failed (unreachable, broken, overloaded), as opposed to answering with an error. */
  endpointFailed: boolean;
  /** The request may have reached the server, so a non-idempotent call must not be repeated. */
  maybeSent: boolean;
}

export interface FailoverOptions {
  /** Safe to repeat even if it reached the server: reads, lease reads, status, member list. */
  idempotent: boolean;
  classify(error: unknown, endpoint: string): AttemptVerdict;
  retry?: RetryOptions | undefined;
  /**
   * Limit on one attempt at one endpoint, in ms (the dial timeout). When it passes, that
   * endpoint counts as failed with a ContextError "deadline-exceeded" naming it, as a Go v2
   * client's HeaderTimeoutPerRequest does; the call itself goes on while its own deadline allows.
   */
  attemptTimeoutMs?: number | undefined;
  clock?: Clock | undefined;
}

/**
 * Runs one call against the pool: the pinned endpoint first, then the others round-robin.
 * It moves on only when an endpoint failed and the call is safe to repeat (idempotent, or
 * never sent). Rounds are separated by jittered, capped backoff, within a time budget. When
 * every attempt failed, a ClusterError lists each endpoint's error.
 */
export async function withFailover<T>(
  pool: EndpointPool,
  deadline: Deadline,
  opts: FailoverOptions,
  attempt: (endpoint: string, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const endpoints = pool.list().length;
  const maxAttempts = opts.retry?.maxAttempts ?? Math.max(3, 2 * endpoints);
  const budgetEnds = clock.now() + (opts.retry?.budgetMs ?? 10_000);
  const failures: EndpointFailure[] = [];
  let attempts = 0;
  for (let round = 0; ; round++) {
    for (const endpoint of pool.order()) {
      if (attempts >= maxAttempts) break;
      deadline.throwIfDone();
      attempts++;
      const started = clock.now();
      const limit = new AttemptLimit(deadline, opts.attemptTimeoutMs, clock);
      try {
        const result = await attempt(endpoint, limit.signal);
        pool.reportSuccess(endpoint, clock.now() - started);
        return result;
      } catch (e) {
        deadline.throwIfDone();
        const verdict = limit.expired
          ? {
              error: new ContextError("deadline-exceeded", {
                endpoint,
                message: `no answer from ${endpoint} within ${opts.attemptTimeoutMs} ms`,
              }),
              endpointFailed: true,
              maybeSent: true,
            }
          : opts.classify(e, endpoint);
        if (!verdict.endpointFailed) {
          // The server answered: the endpoint is fine, the answer is the caller's.
          pool.reportSuccess(endpoint);
          throw verdict.error;
        }
        pool.reportFailure(endpoint, verdict.error);
        failures.push({ endpoint, error: verdict.error });
        if (verdict.maybeSent && !opts.idempotent) {
          // It may have been applied: repeating it elsewhere could apply it twice.
          throw new ClusterError(failures, { maybeApplied: true });
        }
      } finally {
        limit.dispose();
      }
    }
    if (attempts >= maxAttempts || clock.now() >= budgetEnds) break;
    const wait = Math.min(backoffDelay(round, opts.retry?.backoff), budgetEnds - clock.now());
    await sleep(Math.max(0, wait), deadline.signal, clock).catch(() => deadline.throwIfDone());
  }
  throw new ClusterError(failures);
}

/** The call's signal, plus an optional limit on one attempt. */
class AttemptLimit {
  readonly signal: AbortSignal;
  expired = false;
  private readonly controller: AbortController | undefined;
  private readonly timer: unknown;
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    deadline: Deadline,
    ms: number | undefined,
    private readonly clock: Clock,
  ) {
    if (!ms) {
      this.signal = deadline.signal;
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    this.signal = controller.signal;
    // onDone rather than a listener on deadline.signal: that signal is then never made.
    this.unsubscribe = deadline.onDone((e) => controller.abort(e));
    this.timer = clock.setTimeout(() => {
      this.expired = true;
      controller.abort(new Error("attempt timed out"));
    }, ms);
  }

  dispose(): void {
    if (!this.controller) return;
    this.clock.clearTimeout(this.timer);
    this.unsubscribe?.();
  }
}
