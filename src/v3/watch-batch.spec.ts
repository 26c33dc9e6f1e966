import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FakeClock, flush } from "../../test/fakes/fake-clock.js";
import { consume } from "../../test/fakes/watch-consumer.js";
import { type WatchResponse, WatchResponseSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType } from "../gen/mvccpb/kv_pb.js";
import { AsyncQueue } from "../internal/async-queue.js";
import { WatchBatch } from "./watch-batch.js";
import type { WatchRequestInit } from "./watch-stream.js";
import { Watcher, type WatchOptions } from "./watcher.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** One request as the fake server sees it: its creates, and a way to answer on it. */
interface FakeRequest {
  creates: { key: string; watchId: bigint; startRevision: bigint }[];
  signal: AbortSignal;
  reports: unknown[];
  answer(init: MessageInitShape<typeof WatchResponseSchema>): void;
  /** Answers every create with created at this revision. */
  confirm(revision: bigint): void;
  /** Sends a put of key at rev to every watch of this request whose key it is. */
  put(key: string, rev: bigint): void;
  /** The stream breaks: a network error, or (endpointFailed false) etcd's refusal. */
  breakOff(endpointFailed?: boolean): void;
}

class StreamError extends Error {
  constructor(
    message: string,
    readonly endpointFailed = true,
  ) {
    super(message);
  }
}

function setup(
  options: {
    confirmTimeoutMs?: number;
    failOpens?: number;
    maxWatches?: number;
    authRefused?: () => void;
  } = {},
) {
  const clock = new FakeClock();
  const requests: FakeRequest[] = [];
  let opens = 0;
  const batch = new WatchBatch({
    clock,
    windowMs: 10,
    maxWatches: options.maxWatches,
    authRefused: options.authRefused,
    confirmTimeoutMs: options.confirmTimeoutMs ?? 1000,
    backoff: { baseMs: 100, jitter: 0 },
    classify: (e) => ({
      error: e as Error,
      endpointFailed: e instanceof StreamError ? e.endpointFailed : true,
    }),
    open: async (reqs: WatchRequestInit[], signal) => {
      opens++;
      if (opens <= (options.failOpens ?? 0)) throw new StreamError("connection refused");
      const responses = new AsyncQueue<WatchResponse>();
      const creates = reqs.flatMap((r) =>
        r.requestUnion?.case === "createRequest"
          ? [
              {
                key: dec(r.requestUnion.value.key),
                watchId: BigInt(r.requestUnion.value.watchId ?? 0),
                startRevision: BigInt(r.requestUnion.value.startRevision ?? 0),
              },
            ]
          : [],
      );
      const answer = (init: MessageInitShape<typeof WatchResponseSchema>) =>
        responses.push(create(WatchResponseSchema, init));
      const r: FakeRequest = {
        creates,
        signal,
        reports: [],
        answer,
        confirm: (revision) => {
          for (const c of creates)
            answer({ header: { revision }, watchId: c.watchId, created: true });
        },
        put: (key, rev) => {
          for (const c of creates) {
            if (c.key !== key) continue;
            // etcd sends a watch only events at or after its start revision.
            if (c.startRevision > rev) continue;
            answer({
              header: { revision: rev },
              watchId: c.watchId,
              events: [
                {
                  type: Event_EventType.PUT,
                  kv: { key: enc(key), value: enc(`v${rev}`), modRevision: rev },
                },
              ],
            });
          }
        },
        breakOff: (endpointFailed = true) =>
          responses.fail(new StreamError("connection reset", endpointFailed)),
      };
      signal.addEventListener("abort", () => responses.fail(signal.reason), { once: true });
      requests.push(r);
      return { responses, done: (e) => r.reports.push(e) };
    },
  });
  const watch = (key: string, o: WatchOptions = {}) => {
    const w = new Watcher(key, o);
    const { seen, errors } = consume(w);
    batch.add(w);
    return {
      w,
      errors,
      revisions: () => seen.flatMap((r) => r.events.map((e) => e.kv.modRevision)),
    };
  };
  const last = () => {
    const r = requests[requests.length - 1];
    if (!r) throw new Error("no request was opened");
    return r;
  };
  return { clock, batch, requests, watch, last, opens: () => opens };
}

describe("the batching window", () => {
  it("sends the watches added within one window in one request, each with its own id", async () => {
    const { clock, watch, requests, batch } = setup();
    watch("a");
    watch("b");
    await clock.advance(5);
    watch("c");
    expect(requests).toHaveLength(0);
    await clock.advance(5);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.creates.map((c) => c.key)).toEqual(["a", "b", "c"]);
    const ids = requests[0]?.creates.map((c) => c.watchId) ?? [];
    expect(new Set(ids).size).toBe(3);
    expect(ids).not.toContain(0n);
    expect(batch.state).toBe("opening");
  });

  it("holds changes while a request awaits confirmation, then sends them together", async () => {
    const { clock, watch, requests, last, batch } = setup();
    watch("a");
    await clock.advance(10);
    watch("b");
    await clock.advance(10);
    watch("c");
    await clock.advance(50);
    expect(requests).toHaveLength(1);
    last().confirm(5n);
    await clock.advance(10);
    expect(requests).toHaveLength(2);
    expect(last().creates.map((c) => c.key)).toEqual(["a", "b", "c"]);
    expect(batch.state).toBe("switching");
    expect(batch.openRequests).toBe(2);
  });
});

describe("a switch to a new request", () => {
  it("aborts the old request only once every create of the new one is answered", async () => {
    const { clock, watch, requests, batch } = setup();
    watch("a");
    await clock.advance(10);
    requests[0]?.confirm(5n);
    await flush();
    watch("b");
    await clock.advance(10);
    const [old, next] = requests;
    if (!old || !next) throw new Error("expected two requests");
    next.answer({
      header: { revision: 6n },
      watchId: next.creates[0]?.watchId ?? 0n,
      created: true,
    });
    await flush();
    expect(old.signal.aborted).toBe(false);
    next.answer({
      header: { revision: 6n },
      watchId: next.creates[1]?.watchId ?? 0n,
      created: true,
    });
    await flush();
    expect(old.signal.aborted).toBe(true);
    expect(batch.state).toBe("serving");
    expect(batch.openRequests).toBe(1);
  });

  it("re-creates each watch from its own next revision", async () => {
    const { clock, watch, requests, last } = setup();
    const a = watch("a");
    await clock.advance(10);
    last().confirm(5n);
    last().put("a", 8n);
    await flush();
    watch("b", { startRevision: 3 });
    await clock.advance(10);
    expect(requests[1]?.creates.map((c) => [c.key, c.startRevision])).toEqual([
      ["a", 9n],
      ["b", 3n],
    ]);
    expect(a.w.revision).toBe(9n);
  });

  it("delivers each event once when the old and new requests both deliver it", async () => {
    const { clock, watch, requests } = setup();
    const a = watch("a");
    await clock.advance(10);
    requests[0]?.confirm(5n);
    await flush();
    watch("b");
    await clock.advance(10);
    const [old, next] = requests;
    if (!old || !next) throw new Error("expected two requests");
    // Writes while both requests are open: each carries watch "a" and sends every event.
    old.put("a", 6n);
    next.put("a", 6n);
    next.put("a", 7n);
    old.put("a", 7n);
    old.put("a", 8n);
    next.confirm(8n);
    next.put("a", 8n);
    next.put("a", 9n);
    await flush();
    expect(a.revisions()).toEqual([6n, 7n, 8n, 9n]);
  });

  it("re-issues on a removal, and ends everything when the last watch leaves", async () => {
    const { clock, watch, requests, last, batch } = setup();
    const a = watch("a");
    const b = watch("b");
    await clock.advance(10);
    last().confirm(5n);
    await flush();
    a.w.cancel();
    await clock.advance(10);
    expect(last().creates.map((c) => c.key)).toEqual(["b"]);
    last().confirm(6n);
    await flush();
    expect(requests[0]?.signal.aborted).toBe(true);
    b.w.cancel();
    await flush();
    expect(last().signal.aborted).toBe(true);
    expect(batch.state).toBe("idle");
    expect(clock.timers.size).toBe(0);
  });
});

describe("a broken request", () => {
  it("resumes every watch after backoff, from its next revision, nothing repeated", async () => {
    const { clock, watch, requests, last, batch } = setup();
    const a = watch("a");
    await clock.advance(10);
    last().confirm(5n);
    last().put("a", 6n);
    await flush();
    last().breakOff();
    await flush();
    expect(batch.state).toBe("backoff");
    expect(a.w.state).toBe("reconnecting");
    expect(requests[0]?.reports[0]).toBeInstanceOf(StreamError);
    await clock.advance(100);
    expect(requests).toHaveLength(2);
    expect(last().creates[0]?.startRevision).toBe(7n);
    last().confirm(9n);
    last().put("a", 6n);
    last().put("a", 7n);
    await flush();
    expect(a.w.state).toBe("watching");
    expect(a.revisions()).toEqual([6n, 7n]);
  });

  it("wake() skips the backoff", async () => {
    const { clock, watch, requests, last, batch } = setup();
    watch("a");
    await clock.advance(10);
    last().confirm(5n);
    await flush();
    last().breakOff();
    await flush();
    batch.wake();
    await flush();
    expect(requests).toHaveLength(2);
    expect(batch.state).toBe("opening");
  });

  it("counts a request not confirmed in time as broken", async () => {
    const { clock, watch, requests, batch } = setup({ confirmTimeoutMs: 500 });
    watch("a");
    await clock.advance(10);
    await clock.advance(500);
    expect(requests[0]?.signal.aborted).toBe(true);
    expect(batch.state).toBe("backoff");
    expect(String(requests[0]?.reports[0])).toMatch(/not answered within 500 ms/);
  });

  it("leaves the new request alone when the old one breaks during a switch", async () => {
    const { clock, watch, requests, batch } = setup();
    const a = watch("a");
    await clock.advance(10);
    requests[0]?.confirm(5n);
    await flush();
    const b = watch("b");
    await clock.advance(10);
    requests[0]?.breakOff();
    await flush();
    expect(batch.state).toBe("opening");
    expect(a.w.state).toBe("reconnecting");
    requests[1]?.confirm(6n);
    await flush();
    expect(batch.state).toBe("serving");
    expect([a.w.state, b.w.state]).toEqual(["watching", "watching"]);
    expect(requests).toHaveLength(2);
  });

  it("fails every watch when etcd refuses the request itself", async () => {
    const { clock, watch, last, batch } = setup();
    const a = watch("a");
    const b = watch("b");
    await clock.advance(10);
    last().breakOff(false);
    await flush();
    expect([a.w.state, b.w.state]).toEqual(["failed", "failed"]);
    expect(a.errors[0]).toBeInstanceOf(StreamError);
    expect(batch.state).toBe("idle");
    expect(clock.timers.size).toBe(0);
  });

  it("fails only the watch whose create etcd cancelled; the others go on", async () => {
    const { clock, watch, last } = setup();
    const a = watch("a", { startRevision: 2 });
    const b = watch("b");
    await clock.advance(10);
    const ca = last().creates[0]?.watchId ?? 0n;
    const cb = last().creates[1]?.watchId ?? 0n;
    last().answer({ header: { revision: 9n }, watchId: ca, created: true });
    last().answer({
      header: { revision: 9n },
      watchId: ca,
      canceled: true,
      compactRevision: 5n,
    });
    last().answer({ header: { revision: 9n }, watchId: cb, created: true });
    await flush();
    expect(a.w.state).toBe("failed");
    expect(a.errors[0]).toMatchObject({ reason: "compacted", compactRevision: 5n });
    expect(b.w.state).toBe("watching");
    await clock.advance(10);
    expect(last().creates.map((c) => c.key)).toEqual(["b"]);
  });
});

describe("a create refused as not permitted (a stale token looks the same)", () => {
  // As etcd 3.4 answers a refused create: watch_id -1, the reason as Go's gRPC error text.
  const denied = (_watchId?: bigint) => ({
    header: { revision: 9n },
    watchId: -1n,
    created: true,
    canceled: true,
    cancelReason: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token",
  });

  it("drops the token and sends the set once more at once; the watches carry on", async () => {
    let refused = 0;
    const { clock, watch, requests, last } = setup({ authRefused: () => refused++ });
    const a = watch("a");
    await clock.advance(10);
    last().confirm(5n);
    await flush();
    const b = watch("b");
    await clock.advance(10);
    last().answer(denied(last().creates[0]?.watchId));
    await flush();
    expect(refused).toBe(1);
    expect(requests).toHaveLength(3);
    expect(requests[0]?.signal.aborted && requests[1]?.signal.aborted).toBe(true);
    expect(a.w.state).toBe("reconnecting");
    last().confirm(6n);
    await flush();
    expect([a.w.state, b.w.state]).toEqual(["watching", "watching"]);
  });

  it("fails the watch when the fresh token is refused too", async () => {
    let refused = 0;
    const { clock, watch, last } = setup({ authRefused: () => refused++ });
    const a = watch("a");
    const b = watch("b");
    await clock.advance(10);
    last().answer(denied(last().creates[0]?.watchId));
    await flush();
    last().answer(denied(last().creates[0]?.watchId));
    last().answer({
      header: { revision: 9n },
      watchId: last().creates[1]?.watchId ?? 0n,
      created: true,
    });
    await flush();
    expect(refused).toBe(1);
    expect(a.w.state).toBe("failed");
    expect(a.errors[0]).toMatchObject({ reason: "invalid-auth-token" });
    expect(b.w.state).toBe("watching");
  });

  it("fails the watch at once without auth", async () => {
    const { clock, watch, last, requests } = setup();
    const a = watch("a");
    await clock.advance(10);
    last().answer(denied(last().creates[0]?.watchId));
    await flush();
    expect(a.w.state).toBe("failed");
    expect(requests).toHaveLength(1);
  });
});

describe("the limit on watches", () => {
  it("fails a watch past it at once, with an invalid-input error, and leaves the others be", async () => {
    const { clock, watch, last } = setup({ maxWatches: 2 });
    const a = watch("a");
    watch("b");
    const c = watch("c");
    await flush();
    expect(c.w.state).toBe("failed");
    expect(c.errors[0]).toMatchObject({ kind: "invalid-input", field: "watch" });
    await clock.advance(10);
    expect(last().creates.map((x) => x.key)).toEqual(["a", "b"]);
    a.w.cancel();
    const d = watch("d");
    await clock.advance(10);
    expect(d.w.state).toBe("connecting");
  });
});

describe("connections", () => {
  it("never has more than two requests open, however the set changes", async () => {
    const { clock, watch, batch, last } = setup();
    let most = 0;
    const ws = [];
    for (let i = 0; i < 40; i++) {
      ws.push(watch(`k${i}`));
      await clock.advance(i % 3 === 0 ? 10 : 2);
      most = Math.max(most, batch.openRequests);
      if (i % 5 === 0 && batch.state !== "serving") {
        last().confirm(BigInt(10 + i));
        await flush();
      }
    }
    for (let i = 0; i < 40; i += 2) {
      ws[i]?.w.cancel();
      await clock.advance(3);
      most = Math.max(most, batch.openRequests);
      last().confirm(100n);
      await flush();
    }
    expect(most).toBeLessThanOrEqual(2);
    await clock.advance(20);
    last().confirm(200n);
    await flush();
    expect(last().creates).toHaveLength(20);
  });
});
