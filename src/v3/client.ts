import {
  type EndpointListener,
  EndpointPool,
  type EndpointState,
} from "../endpoints/endpoint-pool.js";
import { parseEndpoints } from "../endpoints/endpoint-url.js";
import { withFailover } from "../endpoints/failover.js";
import { HealthProbe } from "../endpoints/health-probe.js";
import { listenToPage, pageSources } from "../endpoints/page-signals.js";
import { ContextError, InvalidInputError } from "../errors/etcd-error.js";
import { Watch } from "../gen/etcdserverpb/rpc_ref.js";
import type { Bytes } from "../internal/bytes.js";
import type { CallOptions } from "../internal/call-options.js";
import { type Clock, systemClock } from "../internal/clock.js";
import { type Deadline, withDeadline } from "../internal/deadline.js";
import type { Protocol } from "../transport/protocol.js";
import { serverStreaming } from "../wire/service-ref.js";
import { AuthApi } from "./auth.js";
import { AuthSession } from "./auth-session.js";
import { classifyV3 } from "./classify.js";
import { checkOptions, type EtcdOptions } from "./client-options.js";
import { ClusterApi } from "./cluster.js";
import { type AttemptOptions, type Caller, type Connection, connection } from "./connection.js";
import { header } from "./key-value.js";
import {
  type CompactOptions,
  type CompactResult,
  compactRequest,
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  deleteResult,
  type GetResult,
  type PutOptions,
  type PutResult,
  putRequest,
  putResult,
  type RangeOptions,
  rangeRequest,
  rangeResult,
} from "./kv.js";
import { LeaseApi } from "./lease.js";

import { LiveView, type LiveViewOptions } from "./live-view.js";
import { MaintenanceApi } from "./maintenance.js";
import { Txn, txnRequest, txnResult } from "./txn.js";
import type { ClientRuntime, WatchHub } from "./watch-hub.js";
import type { WatchRequestInit } from "./watch-stream.js";
import { Watcher, type WatchOptions } from "./watcher.js";

export type { EtcdOptions };

/**
 * The v3 client: one API over grpc-web, etcd's gateway and grpc. Construct it through the
 * `Etcd` class of the package entry, which knows which protocols the runtime can speak.
 */
export class EtcdClient implements Caller {
  readonly protocol: Protocol;
  /** Leases: grant, revoke, timeToLive, leases, keepAliveOnce, keepAlive. */
  readonly lease: LeaseApi;
  /** Cluster membership. */
  readonly cluster: ClusterApi;
  /** Status, alarms, defragment, hashes. */
  readonly maintenance: MaintenanceApi;
  /** Auth, user and role management. */
  readonly auth: AuthApi;
  private readonly pool: EndpointPool;
  private readonly connections = new Map<string, Connection>();
  private readonly closing = new AbortController();
  /**
   * The deadlines of the unary calls in flight, which close() cancels. A set costs less per
   * call than a listener on the closing signal, whose removal scans every listener.
   */
  private readonly inFlight = new Set<Deadline>();
  private readonly probe: HealthProbe | undefined;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly dialTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private syncTimer: unknown;
  private readonly session: AuthSession | undefined;
  private watchHub: WatchHub | undefined;
  /** The token the last watch request went with, which a refusal may show stale. */
  private watchToken: string | undefined;
  private readonly watchers = new Set<Watcher>();
  private readonly stopListening: () => void;

  constructor(
    private readonly options: EtcdOptions,
    private readonly runtime: ClientRuntime,
  ) {
    const checked = checkOptions(options, runtime);
    this.protocol = checked.protocol;
    this.timeoutMs = checked.timeoutMs;
    this.dialTimeoutMs = checked.dialTimeoutMs;
    this.maxRequestBytes = checked.maxRequestBytes;
    this.clock = options.clock ?? systemClock;
    this.pool = new EndpointPool(checked.endpoints, this.clock);
    this.session = checked.auth && new AuthSession(checked.auth);
    this.lease = new LeaseApi(this, this.clock);
    this.cluster = new ClusterApi(this);
    this.maintenance = new MaintenanceApi(this);
    this.auth = new AuthApi(this);
    if (checked.health) {
      this.probe = new HealthProbe(this.pool, (url, signal) => this.probeEndpoint(url, signal), {
        ...checked.health,
        clock: this.clock,
      });
    }
    const page = options.page === false ? {} : (options.page ?? pageSources());
    if (!page.document?.hidden) this.probe?.start();
    this.stopListening = listenToPage(page, {
      online: () => {
        this.watchHub?.wake();
        if (this.probe && !page.document?.hidden) void this.probe.probeAll();
      },
      offline: () => this.pool.reportOffline(new Error("the browser is offline")),
      visible: () => this.probe?.start(),
      hidden: () => this.probe?.stop(),
    });
    if (checked.autoSyncIntervalMs) this.scheduleSync(checked.autoSyncIntervalMs);
  }

  // ---- KV ----
  // Bad input rejects the returned promise, before anything is sent.

  /** Reads one key, or a range of keys (prefix, rangeEnd, fromKey), as clientv3's Get. */
  async get(key: Bytes, options: RangeOptions & CallOptions = {}): Promise<GetResult> {
    const request = rangeRequest(key, options);
    return this.unary(options, true, async (c, a) => rangeResult(await c.kv.range(request, a)));
  }

  /** Writes a key. */
  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    const request = putRequest(key, value, options, this.maxRequestBytes);
    return this.unary(options, false, async (c, a) => putResult(await c.kv.put(request, a)));
  }

  /** Deletes a key, or a range of keys (prefix, rangeEnd, fromKey). */
  async delete(key: Bytes, options: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    const request = deleteRequest(key, options);
    return this.unary(options, false, async (c, a) =>
      deleteResult(await c.kv.deleteRange(request, a)),
    );
  }

  /** Compacts the store's history up to revision. */
  async compact(
    revision: number | bigint,
    options: CompactOptions & CallOptions = {},
  ): Promise<CompactResult> {
    const request = compactRequest(revision, options);
    return this.unary(options, false, async (c, a) => ({
      header: header((await c.kv.compact(request, a)).header, "compact"),
    }));
  }

  /**
   * A transaction: `await etcd.txn().if(...).then(...).else(...)`. It is sent once, when first
   * awaited or committed. A transaction of reads only is retried like a read.
   */
  txn(options: CallOptions = {}): Txn {
    return new Txn(({ ifs, thens, elses }) => {
      const request = txnRequest(ifs, thens, elses, this.maxRequestBytes);
      const readOnly = [...thens, ...elses].every((o) => o.kind === "get");
      return this.unary(options, readOnly, async (c, a) => txnResult(await c.kv.txn(request, a)));
    });
  }

  // ---- watch ----

  /**
   * Watches a key or a range: an async iterable of responses, as clientv3's Watch channel.
   * Each event arrives once, in revision order, across broken streams and failover. End it
   * with options.signal, watcher.cancel(), or by leaving the for-await loop.
   *
   * On "grpc" and "gateway" every watch of the client shares one stream (one WebSocket on
   * the gateway). On "grpc-web" they share one request, issued again as watches come and go
   * (watch-batch.ts): at most two connections at any moment. On "gateway" with auth each
   * watch is a POST of its own (watch-hubs.ts says why).
   */
  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    if (this.closing.signal.aborted) {
      throw new ContextError("canceled", { message: "the client is closed" });
    }
    const w = new Watcher(key, options);
    this.watchers.add(w);
    w.onStateChange((s) => {
      if (s === "closed" || s === "failed") this.watchers.delete(w);
    });
    this.watchHub ??= this.runtime.watchHub(this.protocol, this.session !== undefined, {
      clock: this.clock,
      backoff: this.options.retry?.backoff,
      confirmTimeoutMs: this.dialTimeoutMs,
      authRefused: this.session && (() => this.session?.invalidate(this.watchToken ?? "")),
      classify: (e) => classifyV3(e, "watch"),
      open: (bidi, requests, signal) => this.openWatch(bidi, requests, signal),
    });
    this.watchHub.add(w);
    return w;
  }

  /**
   * The keys under a prefix, kept up to date: a listing, then a watch from its revision, as
   * Go's mirror package. An empty prefix is every key. End it with options.signal or close().
   */
  live(prefix: Bytes, options: LiveViewOptions = {}): LiveView {
    return new LiveView(this, prefix, options);
  }

  private async openWatch(
    bidi: boolean,
    requests: AsyncIterable<WatchRequestInit>,
    signal: AbortSignal,
  ) {
    const method = bidi ? Watch.methods.watch : serverStreaming(Watch.methods.watch);
    const endpoint = this.pool.order()[0] ?? this.pool.pinned;
    const c = this.connection(endpoint);
    this.watchToken = this.session && (await this.session.token(c, signal));
    const headers = this.watchToken === undefined ? undefined : { token: this.watchToken };
    const responses = await c.transport.stream(method, { signal, headers }, requests);
    return {
      responses,
      done: (error: unknown) => {
        if (error instanceof Error) this.pool.reportFailure(endpoint, error);
      },
    };
  }

  // ---- endpoints ----

  /** Each endpoint's health, latency and last error. */
  endpointStates(): readonly EndpointState[] {
    return this.pool.list();
  }

  /** The endpoint calls go to first: the one in use while it works. */
  get pinnedEndpoint(): string {
    return this.pool.pinned;
  }

  /** Calls listener whenever an endpoint's state changes; returns the unsubscribe function. */
  onEndpointChange(listener: EndpointListener): () => void {
    return this.pool.subscribe(listener);
  }

  /** Probes every endpoint now, and resolves with their states. */
  async checkHealth(options: CallOptions = {}): Promise<readonly EndpointState[]> {
    const probe =
      this.probe ??
      new HealthProbe(this.pool, (url, signal) => this.probeEndpoint(url, signal), {
        intervalMs: 5_000,
        timeoutMs: 2_000,
        clock: this.clock,
      });
    await withDeadline(options, (d) => probe.probeAll(d.signal), this.clock);
    return this.pool.list();
  }

  /** Replaces the endpoints with the client URLs of the cluster's started members. */
  async sync(options: CallOptions = {}): Promise<readonly string[]> {
    const res = await this.unary(options, true, (c, a) => c.cluster.memberList({}, a));
    const urls = res.members
      .filter((m) => m.name !== "" && !m.isLearner)
      .flatMap((m) => m.clientURLs);
    if (urls.length > 0) this.pool.replace(parseEndpoints([...new Set(urls)], "member clientURLs"));
    return this.pool.list().map((s) => s.url);
  }

  /** Stops the health probe and sync, ends in-flight calls and closes every connection. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new ContextError("canceled", { message: "the client was closed" }));
    for (const d of this.inFlight) d.cancel(this.closing.signal.reason);
    this.inFlight.clear();
    this.stopListening();
    this.probe?.stop();
    for (const w of [...this.watchers]) w.cancel();
    if (this.syncTimer !== undefined) this.clock.clearTimeout(this.syncTimer);
    // The watches' cancels reach etcd before their stream and connections close.
    await this.watchHub?.drained?.();
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  // ---- internals ----

  /**
   * Runs one unary call under the caller's signal and time limit, on the pool's endpoints,
   * with failover when it is safe: always for idempotent calls, else only when unsent.
   * @internal
   */
  unary<T>(
    options: CallOptions,
    idempotent: boolean,
    call: (c: Connection, attempt: AttemptOptions) => Promise<T>,
  ): Promise<T> {
    if (this.closing.signal.aborted) {
      return Promise.reject(new ContextError("canceled", { message: "the client is closed" }));
    }
    return withDeadline(
      { signal: options.signal, timeoutMs: options.timeoutMs ?? this.timeoutMs },
      (deadline) => {
        this.inFlight.add(deadline);
        return withFailover(
          this.pool,
          deadline,
          {
            idempotent,
            classify: classifyV3,
            retry: this.options.retry,
            attemptTimeoutMs: this.dialTimeoutMs,
            clock: this.clock,
          },
          (endpoint, signal) => this.attempt(this.connection(endpoint), signal, call),
        ).finally(() => this.inFlight.delete(deadline));
      },
      this.clock,
    );
  }

  /** One attempt on one endpoint, with the auth token when the client logs in. */
  private attempt<T>(
    c: Connection,
    signal: AbortSignal,
    call: (c: Connection, attempt: AttemptOptions) => Promise<T>,
  ): Promise<T> {
    if (!this.session) return call(c, { signal });
    return this.session.run(c, signal, (token) => call(c, { signal, headers: { token } }));
  }

  private connection(endpoint: string): Connection {
    let c = this.connections.get(endpoint);
    if (!c) {
      const factory = this.runtime.transports[this.protocol];
      if (!factory) throw new InvalidInputError(`no transport for ${this.protocol}`, "protocol");
      c = connection(
        factory({
          baseUrl: endpoint,
          fetch: this.options.fetch,
          webSocket: this.options.webSocket ?? this.runtime.webSocket,
          grpcClient: this.options.grpcClient,
          tls: this.options.tls,
          maxResponseBytes: this.options.maxResponseBytes,
        }),
      );
      this.connections.set(endpoint, c);
    }
    return c;
  }

  /** Healthy: the member answers Status and has a leader. */
  private async probeEndpoint(endpoint: string, signal: AbortSignal): Promise<void> {
    const status = await this.attempt(this.connection(endpoint), signal, (c, a) =>
      c.maintenance.status({}, a),
    );
    if (status.leader === 0n) throw new Error("the member has no leader");
  }

  private scheduleSync(intervalMs: number): void {
    this.syncTimer = this.clock.setTimeout(async () => {
      try {
        await this.sync();
      } catch {
        // Keep the endpoints we have; the next round tries again.
      }
      if (!this.closing.signal.aborted) this.scheduleSync(intervalMs);
    }, intervalMs);
    const t = this.syncTimer;
    if (typeof t === "object" && t !== null && "unref" in t) (t as { unref(): void }).unref();
  }
}
