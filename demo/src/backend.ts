// What the dashboard needs from a protocol, whichever it is: live keys, put, delete, watch and the
// endpoints' health. v3-backend.ts speaks it through Etcd (grpc-web or gateway), and
// v2-backend.ts through V2Client.
import type { EndpointHealth, LiveViewState } from "../../src/index.js";
import type { ProtocolName } from "./config.js";

export interface Entry {
  key: string;
  value: Uint8Array;
  /** The revision (v3 mod revision, v2 modifiedIndex) of the last write. */
  revision: string;
  /** "lease 694d…" (v3) or "ttl 25 s" (v2), when the key expires. */
  expiry: string | undefined;
}

/** A live listing's state, as LiveView.state names it (v2 maps onto the same names). */
export type LiveStateView = LiveViewState;

/** The keys under a prefix as they are now: the key browser pages through them. */
export interface LiveKeys {
  size: number;
  /** Entries [start, end), in key order. */
  slice(start: number, end: number): Entry[];
  /** The revision (v3) or index (v2) the keys reflect, when known. */
  revision: string | undefined;
  state: LiveStateView;
  error: unknown;
}

export interface LiveSink {
  /** The keys changed (or the state did); called once per batch of changes. */
  update(keys: LiveKeys): void;
  /** One key was put or deleted (for the events/s chart). */
  changed(): void;
}

export interface WatchEventView {
  type: "PUT" | "DELETE" | "RESYNC";
  key: string;
  value: Uint8Array | undefined;
  revision: string;
  prevValue: Uint8Array | undefined;
}

/** A watch's connection state, as Watcher.state names it (v2 maps onto the same names). */
export type WatchStateView = "connecting" | "watching" | "reconnecting" | "closed" | "failed";

export interface WatchSink {
  event(e: WatchEventView): void;
  state(s: WatchStateView, error?: unknown): void;
}

export interface WatchRequest {
  key: string;
  prefix: boolean;
  /** Deliver events from this revision on (history included); undefined for from now. */
  fromRevision: number | undefined;
  /** Aborting it closes the watch's stream. */
  signal: AbortSignal;
}

export interface EndpointView {
  name: string;
  url: string;
  health: EndpointHealth;
  latencyMs: number | undefined;
  lastError: string | undefined;
  checkedAt: number | undefined;
}

export interface Backend {
  readonly protocol: ProtocolName;
  /** Shown above the endpoints: where their health comes from, when it is not obvious. */
  readonly healthNote: string | undefined;
  /** How keys look on this protocol, for the inputs' placeholders. */
  readonly keyExample: string;
  /** Keeps sink up to date with the keys under prefix until signal aborts. */
  live(prefix: string, signal: AbortSignal, sink: LiveSink): void;
  /** Writes a key, on a lease of ttlSeconds when given; resolves with the write's revision. */
  put(key: string, value: string, ttlSeconds: number | undefined): Promise<string>;
  /** Deletes one key; resolves with how many were deleted. */
  remove(key: string): Promise<number>;
  watch(request: WatchRequest, sink: WatchSink): void;
  endpoints(): EndpointView[];
  onEndpointChange(listener: () => void): () => void;
  checkHealth(): Promise<void>;
}
