// The dashboard over etcd's v2 keys API (V2Client). v2 keys are paths ("/app/config") in a
// store of their own: etcd 3.4 keeps v2 and v3 keys apart.
import {
  isV2Error,
  V2Client,
  V2ErrorCode,
  type V2Node,
  type V2Response,
  type V2WatchEvent,
} from "../../src/v2/index.js";
import type {
  Backend,
  EndpointView,
  Entry,
  LiveSink,
  LiveStateView,
  WatchEventView,
  WatchRequest,
  WatchSink,
} from "./backend.js";
import type { DemoEndpoint } from "./config.js";
import { errorText } from "./dom.js";
import { bytes } from "./format.js";
import type { V3Backend } from "./v3-backend.js";

const putActions = new Set(["set", "create", "update", "compareAndSwap"]);

export class V2Backend implements Backend {
  readonly protocol = "v2";
  readonly keyExample = "/app/config";
  readonly healthNote: string | undefined;
  private readonly client: V2Client;

  /**
   * @param health a v3 gateway client of the same members: V2Client has no health probe of
   *   its own, only the health its calls observe.
   */
  constructor(
    endpoints: readonly DemoEndpoint[],
    private readonly health: V3Backend | undefined,
  ) {
    this.client = new V2Client({
      endpoints: endpoints.map((e) => e.url),
      timeoutMs: 10_000,
      headerTimeoutPerRequestMs: 2_000,
    });
    this.healthNote = health
      ? "The v2 client has no health probe: these badges come from a v3 gateway client probing the same members."
      : "The v2 client has no health probe: these states come from its own calls.";
  }

  live(prefix: string, signal: AbortSignal, sink: LiveSink): void {
    const path = clean(prefix);
    // v2 watches directories: watch the prefix's directory and keep the keys that match.
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    const keys = new Map<string, V2Node>();
    let index: number | undefined;
    let sorted: V2Node[] | undefined;
    const publish = (state: LiveStateView, error?: unknown) => {
      sorted = undefined;
      sink.update({
        size: keys.size,
        slice: (start, end) => {
          sorted ??= [...keys.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
          return sorted.slice(start, end).map(entry);
        },
        revision: index === undefined ? undefined : String(index),
        state,
        error,
      });
    };
    const list = async () => {
      // The index first, then the listing: a write between them shows twice, never not at all.
      const after = await this.indexNow(dir, true, signal);
      keys.clear();
      for (const n of await this.leaves(dir, signal))
        if (n.key.startsWith(path)) keys.set(n.key, n);
      index = after;
      return after;
    };
    publish("listing");
    (async () => {
      const after = await list();
      publish("watching");
      const w = this.client.keys.watcher(dir, { recursive: true, signal, afterIndex: after });
      for await (const ev of w) {
        if (ev.action === "resync") {
          publish("relisting");
          await list();
        } else if (ev.node.key.startsWith(path) || path.startsWith(`${ev.node.key}/`)) {
          apply(keys, ev, path);
          index = ev.node.modifiedIndex;
          sink.changed();
        } else {
          continue;
        }
        publish("watching");
      }
    })().catch((e: unknown) => publish(signal.aborted ? "closed" : "failed", e));
  }

  async put(key: string, value: string, ttlSeconds: number | undefined): Promise<string> {
    const res = await this.client.keys.set(key, value, ttlSeconds ? { ttl: ttlSeconds } : {});
    return String(res.node.modifiedIndex);
  }

  async remove(key: string): Promise<number> {
    await this.client.keys.delete(key);
    return 1;
  }

  watch(r: WatchRequest, sink: WatchSink): void {
    const closed = () => sink.state("closed");
    r.signal.addEventListener("abort", closed, { once: true });
    sink.state("connecting");
    (async () => {
      // "From now" without missing a write made just after the watch shows "watching": start
      // after what a read sees, since a browser cannot read X-Etcd-Index (docs/v2.md).
      const afterIndex =
        r.fromRevision === undefined
          ? await this.indexNow(r.key, r.prefix, r.signal)
          : r.fromRevision - 1;
      const w = this.client.keys.watcher(r.key, {
        recursive: r.prefix,
        signal: r.signal,
        afterIndex,
      });
      sink.state("watching");
      for await (const ev of w) sink.event(view(ev));
    })().catch((e: unknown) => {
      if (!r.signal.aborted) sink.state("failed", e);
    });
  }

  endpoints(): EndpointView[] {
    if (this.health) return this.health.endpoints();
    return this.client.endpoints().map((s) => ({
      name: s.url,
      url: s.url,
      health: s.health,
      latencyMs: s.latencyMs,
      lastError: s.lastError && errorText(s.lastError),
      checkedAt: s.checkedAt,
    }));
  }

  onEndpointChange(listener: () => void): () => void {
    return this.health?.onEndpointChange(listener) ?? (() => {});
  }

  async checkHealth(): Promise<void> {
    if (this.health) await this.health.checkHealth();
    else await this.client.version();
  }

  /** Every key (not directory) under dir; none when dir does not exist. */
  private async leaves(dir: string, signal: AbortSignal): Promise<V2Node[]> {
    try {
      const res = await this.client.keys.get(dir, {
        recursive: true,
        sort: true,
        quorum: true,
        signal,
      });
      return flatten(res.node);
    } catch (e) {
      if (isV2Error(e, V2ErrorCode.KeyNotFound)) return [];
      throw e;
    }
  }

  /** The index a watch "from now" starts after: the newest write under key, or etcd's index. */
  private async indexNow(key: string, recursive: boolean, signal: AbortSignal): Promise<number> {
    try {
      const res = await this.client.keys.get(key, { recursive, quorum: true, signal });
      return Math.max(0, ...flatten(res.node, true).map((n) => n.modifiedIndex));
    } catch (e) {
      // A missing key's error carries etcd's index.
      if (isV2Error(e, V2ErrorCode.KeyNotFound)) return e.index;
      throw e;
    }
  }
}

/** One v2 write applied to the keys under path: a put sets a key, a delete removes a subtree. */
function apply(keys: Map<string, V2Node>, ev: V2Response, path: string): void {
  const n = ev.node;
  if (putActions.has(ev.action)) {
    if (!n.dir && n.key.startsWith(path)) keys.set(n.key, n);
    return;
  }
  // delete, compareAndDelete, expire: the key, or a directory and everything in it.
  for (const k of [...keys.keys()]) if (k === n.key || k.startsWith(`${n.key}/`)) keys.delete(k);
}

function view(ev: V2WatchEvent): WatchEventView {
  if (ev.action === "resync") {
    return {
      type: "RESYNC",
      key: ev.node?.key ?? "",
      value: ev.node?.value === undefined ? undefined : bytes(ev.node.value),
      revision: String(ev.etcdIndex),
      prevValue: undefined,
    };
  }
  const put = putActions.has(ev.action);
  return {
    type: put ? "PUT" : "DELETE",
    key: ev.node.key,
    value: put && ev.node.value !== undefined ? bytes(ev.node.value) : undefined,
    revision: String(ev.node.modifiedIndex),
    prevValue: ev.prevNode?.value === undefined ? undefined : bytes(ev.prevNode.value),
  };
}

function entry(n: V2Node): Entry {
  return {
    key: n.key,
    value: bytes(n.value ?? ""),
    revision: String(n.modifiedIndex),
    expiry: n.ttl === undefined ? undefined : `ttl ${n.ttl} s`,
  };
}

/** The keys (not directories) under a node, depth first; with dirs, the directories too. */
function flatten(n: V2Node, dirs = false): V2Node[] {
  const self = !n.dir || dirs ? [n] : [];
  return [...self, ...(n.nodes ?? []).flatMap((c) => flatten(c, dirs))];
}

/** A prefix as a v2 path: leading slash, no repeated slashes. */
function clean(prefix: string): string {
  return `/${prefix}`.replace(/\/{2,}/g, "/");
}
