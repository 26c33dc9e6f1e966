import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FakeClock, flush } from "../../test/fakes/fake-clock.js";
import {
  StatusResponseSchema,
  type WatchRequest,
  type WatchResponse,
  WatchResponseSchema,
} from "../gen/etcdserverpb/rpc_pb.js";
import { AsyncQueue } from "../internal/async-queue.js";
import type { EtcdTransport, TransportCall } from "../transport/protocol.js";
import { EtcdClient } from "./client.js";
import type { ClientRuntime } from "./watch-hub.js";
import { batchedWatches } from "./watch-hubs.js";

/** A page's window and document, driven by the spec. */
class FakeDocument extends EventTarget {
  hidden = false;
  show(hidden: boolean): void {
    this.hidden = hidden;
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

/** A grpc-web runtime whose transport answers Status and records Watch requests. */
function setup(o: { hidden?: boolean } = {}) {
  const clock = new FakeClock();
  const window = new EventTarget();
  const document = new FakeDocument();
  document.hidden = o.hidden ?? false;
  let statusCalls = 0;
  const watches: { creates: WatchRequest[]; responses: AsyncQueue<WatchResponse> }[] = [];
  const transport: EtcdTransport = {
    unary: (async () => {
      statusCalls++;
      return create(StatusResponseSchema, { leader: 1n, header: { revision: 1n } });
    }) as unknown as EtcdTransport["unary"],
    stream: (async (_m: unknown, { signal }: TransportCall, input: AsyncIterable<WatchRequest>) => {
      const creates: WatchRequest[] = [];
      for await (const r of input) creates.push(r);
      const responses = new AsyncQueue<WatchResponse>();
      signal.addEventListener("abort", () => responses.fail(signal.reason), { once: true });
      watches.push({ creates, responses });
      return responses;
    }) as unknown as EtcdTransport["stream"],
  };
  const runtime: ClientRuntime = {
    name: "browser",
    defaultProtocol: "grpc-web",
    transports: { "grpc-web": () => ({ transport, close: () => {} }) },
    watchHub: batchedWatches,
  };
  const client = new EtcdClient(
    {
      endpoints: ["http://a:8080", "http://b:8080"],
      clock,
      health: { intervalMs: 1000 },
      retry: { backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      page: { window, document },
    },
    runtime,
  );
  return { clock, window, document, client, watches, statusCalls: () => statusCalls };
}

describe("the browser's signals", () => {
  it("offline marks every endpoint unhealthy; online probes them at once", async () => {
    const { window, client, statusCalls } = setup();
    await flush();
    const before = statusCalls();
    window.dispatchEvent(new Event("offline"));
    expect(client.endpointStates().map((s) => [s.health, s.lastError?.message])).toEqual([
      ["unhealthy", "the browser is offline"],
      ["unhealthy", "the browser is offline"],
    ]);
    window.dispatchEvent(new Event("online"));
    await flush();
    expect(statusCalls()).toBe(before + 2);
    expect(client.endpointStates().map((s) => s.health)).toEqual(["healthy", "healthy"]);
    await client.close();
  });

  it("pauses the health probe while the page is hidden, and probes on becoming visible", async () => {
    const { clock, document, client, statusCalls } = setup({ hidden: true });
    await clock.advance(5000);
    expect(statusCalls()).toBe(0);
    document.show(false);
    await flush();
    expect(statusCalls()).toBe(2);
    document.show(true);
    await clock.advance(5000);
    expect(statusCalls()).toBe(2);
    await client.close();
    document.show(false);
    await flush();
    expect(statusCalls()).toBe(2);
  });

  it("online resumes a broken watch at once instead of waiting out its backoff", async () => {
    const { clock, window, client, watches } = setup();
    const w = client.watch("k");
    await clock.advance(20);
    expect(watches).toHaveLength(1);
    const first = watches[0];
    const id = first?.creates[0]?.requestUnion.value;
    const watchId = id && "watchId" in id ? id.watchId : 0n;
    first?.responses.push(
      create(WatchResponseSchema, { header: { revision: 5n }, watchId, created: true }),
    );
    await flush();
    expect(w.state).toBe("watching");
    first?.responses.fail(new Error("network changed"));
    await flush();
    expect(w.state).toBe("reconnecting");
    await clock.advance(1000);
    expect(watches).toHaveLength(1);
    window.dispatchEvent(new Event("online"));
    await flush();
    expect(watches).toHaveLength(2);
    const resumed = watches[1]?.creates[0]?.requestUnion.value;
    expect(resumed && "startRevision" in resumed ? resumed.startRevision : undefined).toBe(6n);
    await client.close();
  });
});
