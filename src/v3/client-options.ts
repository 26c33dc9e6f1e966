// The client's options, and their checks: bad options fail in the constructor, with an
// InvalidInputError naming the option, before anything is sent.
import { parseEndpoints } from "../endpoints/endpoint-url.js";
import type { RetryOptions } from "../endpoints/failover.js";
import type { PageSignalSources } from "../endpoints/page-signals.js";
import { InvalidInputError } from "../errors/etcd-error.js";
import type { Clock } from "../internal/clock.js";
import {
  type GrpcClient,
  grpcClients,
  type Protocol,
  protocols,
  type TlsOptions,
  type WebSocketConstructor,
} from "../transport/protocol.js";
import type { Credentials } from "./auth-session.js";
import { defaultMaxRequestBytes } from "./kv.js";
import type { ClientRuntime } from "./watch-hub.js";

export interface EtcdOptions {
  /**
   * URLs of etcd members ("gateway", "grpc") or of gRPC-Web proxies ("grpc-web"). One is used
   * while it works; on failure the client moves round-robin to the next.
   */
  endpoints: readonly string[];
  /** Default: "grpc" in Node, "grpc-web" in browsers. */
  protocol?: Protocol | undefined;
  /** Default limit on each call, retries included, in ms; 0 for none. Default 30 s. */
  timeoutMs?: number | undefined;
  /**
   * Limit on one attempt at one endpoint, in ms, after which the call moves to the next
   * endpoint if it is safe to repeat. It catches members that accept connections but answer
   * nothing (a paused process). Default 5 s; 0 for none.
   */
  dialTimeoutMs?: number | undefined;
  /** The server's --max-request-bytes; larger requests are refused before sending. Default 1.5 MiB. */
  maxRequestBytes?: number | undefined;
  /**
   * "grpc" only: the largest response message taken, in bytes, as clientv3's
   * MaxCallRecvMsgSize. A response that says it is larger fails its call at once with a
   * GrpcError of code resource-exhausted, before any of it is held. Default 2 GiB - 1.
   */
  maxResponseBytes?: number | undefined;
  /** Retries across endpoints: attempts, time budget, backoff. */
  retry?: RetryOptions | undefined;
  /** The periodic health probe of every endpoint, or false for none. Default every 5 s. */
  health?: { intervalMs?: number | undefined; timeoutMs?: number | undefined } | false | undefined;
  /**
   * Replace the endpoints now and then with the client URLs of the cluster's members (as
   * clientv3's AutoSyncInterval), in ms; 0 for never (the default). Not for "grpc-web",
   * whose endpoints are proxies rather than members.
   */
  autoSyncIntervalMs?: number | undefined;
  /**
   * Log in as this user: the client gets a token with Authenticate, sends it with every call
   * and gets a new one when etcd says it went stale. The password stays in memory only.
   */
  auth?: Credentials | undefined;
  /**
   * "grpc" only: the HTTP/2 client that carries the calls. "etcd-web" (the default) is
   * etcd-web's own HTTP/2 session, at about a tenth of connect-node's CPU per call
   * (bench/RESULTS.md); "connect-node" is connect-node over node:http2, an optional peer
   * dependency (npm install @connectrpc/connect-node).
   */
  grpcClient?: GrpcClient | undefined;
  /**
   * "grpc" only: TLS for https: endpoints (CA to trust, client certificate and key for etcd's
   * --client-cert-auth), as clientv3's Config.TLS. Without it, https: uses the system's CAs.
   * "grpc-web" and "gateway" go through fetch, which uses the runtime's own trust store.
   */
  tls?: TlsOptions | undefined;
  /** fetch for "grpc-web" and "gateway". */
  fetch?: typeof globalThis.fetch | undefined;
  /** The WebSocket constructor for "gateway" streams. */
  webSocket?: WebSocketConstructor | undefined;
  /**
   * The page's `window` (online, offline) and `document` (visibility) to listen to; by default
   * the runtime's own, if it has them; false for none. Back online, the client probes its
   * endpoints and resumes broken watches at once instead of waiting out their backoff;
   * offline, every endpoint's state says so; while the page is hidden, the probe pauses.
   */
  page?: PageSignalSources | false | undefined;
  /** @internal For tests. */
  clock?: Clock | undefined;
}

/** The options as the client uses them: checked, with their defaults. */
export interface CheckedOptions {
  endpoints: string[];
  protocol: Protocol;
  timeoutMs: number;
  dialTimeoutMs: number;
  maxRequestBytes: number;
  autoSyncIntervalMs: number;
  auth: Credentials | undefined;
  health: { intervalMs: number; timeoutMs: number } | false;
}

export function checkOptions(options: EtcdOptions, runtime: ClientRuntime): CheckedOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidInputError("new Etcd() needs an options object with endpoints", "options");
  }
  const endpoints = parseEndpoints(options.endpoints);
  const protocol = options.protocol ?? runtime.defaultProtocol;
  if (!protocols.includes(protocol)) {
    throw new InvalidInputError(
      `unknown protocol "${String(protocol)}"; use one of ${protocols.join(", ")}`,
      "protocol",
    );
  }
  if (!runtime.transports[protocol]) {
    throw new InvalidInputError(
      `protocol "${protocol}" cannot be spoken in this runtime (${runtime.name}); use one of ${Object.keys(runtime.transports).join(", ")}`,
      "protocol",
    );
  }
  if (options.grpcClient !== undefined) {
    if (!grpcClients.includes(options.grpcClient)) {
      throw new InvalidInputError(
        `unknown grpcClient "${String(options.grpcClient)}"; use one of ${grpcClients.join(", ")}`,
        "grpcClient",
      );
    }
    if (protocol !== "grpc") {
      throw new InvalidInputError(
        `grpcClient is for protocol "grpc", not "${protocol}"`,
        "grpcClient",
      );
    }
  }
  if (options.tls !== undefined) {
    if (typeof options.tls !== "object" || options.tls === null) {
      throw new InvalidInputError("tls must be an object of TLS options", "tls");
    }
    if (protocol !== "grpc") {
      throw new InvalidInputError(
        `tls is for protocol "grpc"; "${protocol}" uses fetch, which trusts the runtime's CAs`,
        "tls",
      );
    }
  }
  if (options.maxResponseBytes !== undefined) {
    if (protocol !== "grpc") {
      throw new InvalidInputError(
        `maxResponseBytes is for protocol "grpc", not "${protocol}"`,
        "maxResponseBytes",
      );
    }
    if (!Number.isInteger(options.maxResponseBytes) || options.maxResponseBytes < 1) {
      throw new InvalidInputError(
        "maxResponseBytes must be a positive integer",
        "maxResponseBytes",
      );
    }
  }
  const timeoutMs = nonNegative(options.timeoutMs, 30_000, "timeoutMs");
  const dialTimeoutMs = nonNegative(options.dialTimeoutMs, 5_000, "dialTimeoutMs");
  const maxRequestBytes = nonNegative(
    options.maxRequestBytes,
    defaultMaxRequestBytes,
    "maxRequestBytes",
  );
  const autoSyncIntervalMs = nonNegative(options.autoSyncIntervalMs, 0, "autoSyncIntervalMs");
  if (autoSyncIntervalMs && protocol === "grpc-web") {
    throw new InvalidInputError(
      'autoSyncIntervalMs is not for "grpc-web": its endpoints are proxies, not members',
      "autoSyncIntervalMs",
    );
  }
  return {
    endpoints,
    protocol,
    timeoutMs,
    dialTimeoutMs,
    maxRequestBytes,
    autoSyncIntervalMs,
    auth: options.auth && checkCredentials(options.auth),
    health: options.health !== false && {
      intervalMs: nonNegative(options.health?.intervalMs, 5_000, "health.intervalMs") || 5_000,
      timeoutMs: nonNegative(options.health?.timeoutMs, 2_000, "health.timeoutMs") || 2_000,
    },
  };
}

function checkCredentials(auth: Credentials): Credentials {
  if (typeof auth.username !== "string" || auth.username === "") {
    throw new InvalidInputError("auth.username must be a non-empty string", "auth.username");
  }
  if (typeof auth.password !== "string") {
    throw new InvalidInputError("auth.password must be a string", "auth.password");
  }
  return { username: auth.username, password: auth.password };
}

function nonNegative(v: number | undefined, fallback: number, field: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new InvalidInputError(`${field} must be a number >= 0, got ${String(v)}`, field);
  }
  return v;
}
