import { EndpointPool, type EndpointState } from "../endpoints/endpoint-pool.js";
import { parseEndpoints } from "../endpoints/endpoint-url.js";
import type { RetryOptions } from "../endpoints/failover.js";
import { InvalidInputError } from "../errors/etcd-error.js";
import type { CallOptions } from "../internal/call-options.js";
import { type Clock, systemClock } from "../internal/clock.js";
import { withDeadline } from "../internal/deadline.js";
import { basicAuth } from "./basic-auth.js";
import { decodeVersion } from "./decode.js";
import { type FetchFn, V2Http } from "./http.js";
import { KeysAPI } from "./keys.js";
import { MembersAPI } from "./members.js";
import type { V2Version } from "./types.js";

/**
 * Which endpoint a client starts on. Either way it then stays on one endpoint while it works
 * and moves round-robin when it fails.
 * - "pinned": the first endpoint listed.
 * - "random": one chosen at random when the client is made (the list is shuffled once), so
 *   that many clients with the same list spread over the members.
 */
export type SelectionMode = "pinned" | "random";

export interface V2ClientOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: readonly string[];
  /**
   * Limit on each request until its response headers arrive, in ms (Go's
   * HeaderTimeoutPerRequest). It does not limit the body, so a watch waits as long as it
   * needs. When it passes, that endpoint counts as failed with a ContextError. 0 or unset:
   * no limit.
   */
  headerTimeoutPerRequestMs?: number;
  /** Default time limit of each call, retries included, in ms. 0 or unset: none. */
  timeoutMs?: number;
  /** Sent as HTTP basic auth (etcd's v2 auth). */
  username?: string;
  password?: string;
  selectionMode?: SelectionMode;
  /** Attempts, time budget and backoff when endpoints fail. */
  retry?: RetryOptions;
  /** Defaults to the global fetch. */
  fetch?: FetchFn;
  /** For tests. */
  clock?: Clock;
  /** For tests: [0, 1), used by selectionMode "random". */
  random?: () => number;
}

/** A client of etcd's v2 API (etcd 3.4 and 3.5 started with --enable-v2=true). */
export class V2Client {
  readonly keys: KeysAPI;
  readonly members: MembersAPI;
  private readonly pool: EndpointPool;
  private readonly http: V2Http;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(options: V2ClientOptions) {
    const endpoints = parseEndpoints(options?.endpoints);
    if (options.selectionMode === "random") shuffle(endpoints, options.random ?? Math.random);
    else if (options.selectionMode !== undefined && options.selectionMode !== "pinned") {
      throw new InvalidInputError(
        `selectionMode must be "pinned" or "random", got ${JSON.stringify(options.selectionMode)}`,
        "selectionMode",
      );
    }
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = milliseconds(options.timeoutMs, "timeoutMs");
    this.pool = new EndpointPool(endpoints, this.clock);
    this.http = new V2Http({
      pool: this.pool,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      clock: this.clock,
      headerTimeoutMs: milliseconds(options.headerTimeoutPerRequestMs, "headerTimeoutPerRequestMs"),
      authorization: basicAuth(options.username, options.password),
      retry: options.retry,
    });
    this.keys = new KeysAPI(this.http, this.timeoutMs, this.clock);
    this.members = new MembersAPI(this.http, this.timeoutMs, this.clock);
  }

  /** The endpoint calls go to first. */
  get pinnedEndpoint(): string {
    return this.pool.pinned;
  }

  /** Each endpoint with its health, as the client sees it. */
  endpoints(): readonly EndpointState[] {
    return this.pool.list();
  }

  /** The server's and the cluster's versions (/version). */
  async version(opts: CallOptions = {}): Promise<V2Version> {
    const answer = await withDeadline(
      { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.timeoutMs },
      (deadline) => this.http.send({ method: "GET", path: "/version", oneShot: false }, deadline),
      this.clock,
    );
    return decodeVersion(answer);
  }
}

function milliseconds(ms: number | undefined, field: string): number {
  if (ms === undefined) return 0;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidInputError(`${field} must be a number of ms >= 0, got ${ms}`, field);
  }
  return ms;
}

function shuffle(list: string[], random: () => number): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = list[i] as string;
    list[i] = list[j] as string;
    list[j] = a;
  }
}
