import type { AttemptVerdict } from "../endpoints/failover.js";
import type { WatchResponse } from "../gen/etcdserverpb/rpc_pb.js";
import type { BackoffOptions } from "../internal/backoff.js";
import type { Clock } from "../internal/clock.js";
import type { Protocol, Runtime } from "../transport/protocol.js";
import type { WatchRequestInit } from "./watch-stream.js";
import type { Watcher } from "./watcher.js";

/**
 * Where the watches of one client go: one shared stream (watch-stream.ts) or one shared
 * request (watch-batch.ts).
 */
export interface WatchHub {
  add(w: Watcher): void;
  /** Reopens at once instead of waiting out the backoff (the browser came back online). */
  wake(): void;
  /** Resolves once the last watches' cancels reached etcd; close() waits on it. */
  drained?(): Promise<void>;
}

/** What a hub needs from the client. */
export interface WatchHubSettings {
  /**
   * Opens one Watch call on some endpoint: etcd's bidi Watch when `bidi`, else its
   * server-streaming form, whose one body carries every request. `done(error)` reports how
   * that endpoint fared.
   */
  open(
    bidi: boolean,
    requests: AsyncIterable<WatchRequestInit>,
    signal: AbortSignal,
  ): Promise<{ responses: AsyncIterable<WatchResponse>; done(error: unknown): void }>;
  classify(error: unknown): AttemptVerdict;
  backoff: BackoffOptions | undefined;
  clock: Clock;
  /** A shared request not confirmed within this many ms counts as broken. */
  confirmTimeoutMs: number;
  /** The client logs in: a refused create may be a stale token (see WatchBatchDeps). */
  authRefused: (() => void) | undefined;
}

/**
 * Makes the hub for a client's protocol. Each entry passes the one its protocols need, so
 * that a grpc-web page carries no bidi WatchStream (watch-hubs.ts).
 */
export type WatchHubFactory = (
  protocol: Protocol,
  auth: boolean,
  settings: WatchHubSettings,
) => WatchHub;

/** A runtime, and how its client's watches travel. */
export interface ClientRuntime extends Runtime {
  readonly watchHub: WatchHubFactory;
}
