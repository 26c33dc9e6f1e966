// The dashboard over the v3 API: Etcd with "grpc-web" (through the bridge) or "gateway".
import { Etcd, type KeyValue } from "../../src/index.js";
import type {
  Backend,
  Cursor,
  EndpointView,
  Entry,
  Page,
  WatchRequest,
  WatchSink,
} from "./backend.js";
import type { DemoEndpoint } from "./config.js";
import { errorText } from "./dom.js";
import { bytes } from "./format.js";

interface V3Cursor extends Cursor {
  key: Uint8Array;
  /** Later pages read at the first page's revision: one consistent listing. */
  revision: bigint;
  total: number | undefined;
}

export class V3Backend implements Backend {
  readonly healthNote: string | undefined;
  readonly keyExample = "app/config";
  readonly client: Etcd;
  private readonly names: Map<string, string>;

  constructor(
    readonly protocol: "grpc-web" | "gateway",
    endpoints: readonly DemoEndpoint[],
    healthIntervalMs: number,
  ) {
    // Bridge endpoints are paths on this page's origin; the client wants absolute URLs.
    const urls = endpoints.map((e) => absolute(e.url));
    this.names = new Map(endpoints.map((e, i) => [urls[i] ?? "", e.name]));
    this.client = new Etcd({
      endpoints: urls,
      protocol,
      timeoutMs: 10_000,
      dialTimeoutMs: 2_000,
      health: { intervalMs: healthIntervalMs, timeoutMs: Math.min(2_000, healthIntervalMs) },
    });
    this.healthNote =
      protocol === "grpc-web"
        ? "One bridge per member (/etcd/<member>), so the client's probe sees each member."
        : undefined;
  }

  async list(prefix: string, from: Cursor | undefined, pageSize: number): Promise<Page> {
    const cursor = from as V3Cursor | undefined;
    const p = bytes(prefix);
    // An empty prefix is every key: from "\0" to the end of the keyspace.
    const start = cursor?.key ?? (p.length ? p : new Uint8Array([0]));
    const res = await this.client.get(start, {
      rangeEnd: p.length ? prefixEnd(p) : new Uint8Array([0]),
      limit: pageSize,
      revision: cursor?.revision ?? 0,
    });
    const total = cursor ? cursor.total : Number(res.count);
    const last = res.kvs[res.kvs.length - 1];
    const next: V3Cursor | undefined =
      res.more && last
        ? { kind: "cursor", key: successor(last.key), revision: res.header.revision, total }
        : undefined;
    return {
      entries: res.kvs.map(entry),
      next,
      total,
      revision: String(cursor?.revision ?? res.header.revision),
    };
  }

  async put(key: string, value: string, ttlSeconds: number | undefined): Promise<string> {
    const lease = ttlSeconds ? (await this.client.lease.grant(ttlSeconds)).id : undefined;
    const res = await this.client.put(key, value, lease === undefined ? {} : { lease });
    return String(res.header.revision);
  }

  async remove(key: string): Promise<number> {
    return Number((await this.client.delete(key)).deleted);
  }

  watch(r: WatchRequest, sink: WatchSink): void {
    const w = this.client.watch(r.key, {
      prefix: r.prefix,
      prevKv: true,
      signal: r.signal,
      ...(r.fromRevision === undefined ? {} : { startRevision: r.fromRevision }),
    });
    sink.state(w.state);
    w.onStateChange((s) => sink.state(s));
    (async () => {
      for await (const res of w) {
        for (const e of res.events) {
          sink.event({
            type: e.type === "put" ? "PUT" : "DELETE",
            key: e.kv.keyText,
            value: e.type === "put" ? e.kv.value : undefined,
            revision: String(e.kv.modRevision),
            prevValue: e.prevKv?.value,
          });
        }
      }
    })().catch((e: unknown) => sink.state("failed", e));
  }

  endpoints(): EndpointView[] {
    return this.client.endpointStates().map((s) => ({
      name: this.names.get(s.url) ?? s.url,
      url: s.url,
      health: s.health,
      latencyMs: s.latencyMs,
      lastError: s.lastError && errorText(s.lastError),
      checkedAt: s.checkedAt,
    }));
  }

  onEndpointChange(listener: () => void): () => void {
    return this.client.onEndpointChange(listener);
  }

  async checkHealth(): Promise<void> {
    await this.client.checkHealth({ timeoutMs: 5_000 });
  }
}

function entry(kv: KeyValue): Entry {
  return {
    key: kv.keyText,
    value: kv.value,
    revision: String(kv.modRevision),
    expiry: kv.lease === 0n ? undefined : `lease ${kv.lease.toString(16)}`,
  };
}

/** The page's origin + path, or the URL as given. */
export function absolute(url: string): string {
  return new URL(url, location.origin).href.replace(/\/+$/, "");
}

/** The smallest key after `key`: key + "\0". */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** The end of the range of keys that start with prefix (as clientv3.GetPrefixRangeEnd). */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] ?? 0xff;
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}
