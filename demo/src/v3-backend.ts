// The dashboard over the v3 API: Etcd with "grpc-web" (through the bridge) or "gateway".
import { Etcd, type KeyValue } from "../../src/index.js";
import type { Backend, EndpointView, Entry, LiveSink, WatchRequest, WatchSink } from "./backend.js";
import type { DemoEndpoint } from "./config.js";
import { errorText } from "./dom.js";

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

  live(prefix: string, signal: AbortSignal, sink: LiveSink): void {
    const view = this.client.live(prefix, { signal });
    view.onChange((c) => {
      if (c.type !== "reset") sink.changed();
    });
    // Once per watch response (and state change), not once per event.
    view.subscribe((s) =>
      sink.update({
        size: s.size,
        slice: (start, end) => s.values().slice(start, end).map(entry),
        revision: s.state === "listing" ? undefined : String(s.revision),
        state: s.state,
        error: s.error,
      }),
    );
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
