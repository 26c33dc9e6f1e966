import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FakeClock, flush } from "../../test/fakes/fake-clock.js";
import { consume } from "../../test/fakes/watch-consumer.js";
import type { AttemptVerdict } from "../endpoints/failover.js";
import { type WatchResponse, WatchResponseSchema } from "../gen/etcdserverpb/rpc_pb.js";
import { Event_EventType } from "../gen/mvccpb/kv_pb.js";
import { AsyncQueue } from "../internal/async-queue.js";
import {
  CANCEL_CONFIRM_MS,
  type WatchRequestInit,
  WatchStream,
  type WatchStreamDeps,
} from "./watch-stream.js";
import { Watcher } from "./watcher.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** One opened Watch stream as the fake server sees it. */
interface FakeStream {
  requests: WatchRequestInit[];
  requestsEnded: boolean;
  responses: AsyncQueue<WatchResponse>;
  signal: AbortSignal;
  reports: unknown[];
  /** The keys of the creates received, in order. */
  creates(): string[];
  /** The watch IDs of the cancels received, in order. */
  cancels(): bigint[];
  answer(init: MessageInitShape<typeof WatchResponseSchema>): void;
}

/** An error the fake classify reads as an endpoint failure, or (endpointFailed false) as an answer. */
class StreamError extends Error {
  constructor(
    message: string,
    readonly endpointFailed = true,
  ) {
    super(message);
  }
}

const classify = (e: unknown): AttemptVerdict => ({
  error: e as Error,
  endpointFailed: e instanceof StreamError ? e.endpointFailed : true,
  maybeSent: true,
});

function setup(failOpens = 0) {
  const clock = new FakeClock();
  const streams: FakeStream[] = [];
  let opens = 0;
  let idle = 0;
  const open: WatchStreamDeps["open"] = async (requests, signal) => {
    opens++;
    if (opens <= failOpens) throw new StreamError("connection refused");
    const s: FakeStream = {
      requests: [],
      requestsEnded: false,
      responses: new AsyncQueue<WatchResponse>(),
      signal,
      reports: [],
      creates: () =>
        s.requests.flatMap((r) =>
          r.requestUnion?.case === "createRequest" ? [dec(r.requestUnion.value.key)] : [],
        ),
      cancels: () =>
        s.requests.flatMap((r) =>
          r.requestUnion?.case === "cancelRequest"
            ? [BigInt(r.requestUnion.value.watchId ?? 0)]
            : [],
        ),
      answer: (init) => s.responses.push(create(WatchResponseSchema, init)),
    };
    streams.push(s);
    void (async () => {
      for await (const r of requests) s.requests.push(r);
      s.requestsEnded = true;
    })();
    // As a real transport does: an aborted call fails its response stream.
    signal.addEventListener("abort", () => s.responses.fail(signal.reason), { once: true });
    return { responses: s.responses, done: (e) => s.reports.push(e) };
  };
  const stream = new WatchStream({
    open,
    classify,
    clock,
    backoff: { baseMs: 100, jitter: 0 },
    onIdle: () => idle++,
  });
  const watch = (key: string) => {
    const w = new Watcher(key, {});
    const { seen, errors } = consume(w);
    stream.add(w);
    return { w, seen, errors, keys: () => seen.flatMap((r) => r.events.map((e) => e.kv.keyText)) };
  };
  return {
    clock,
    streams,
    stream,
    watch,
    opens: () => opens,
    idle: () => idle,
    last: () => {
      const s = streams[streams.length - 1];
      if (!s) throw new Error("no stream was opened");
      return s;
    },
  };
}

const header = (revision: bigint) => ({ revision });
const created = (watchId: bigint, revision: bigint) => ({
  header: header(revision),
  watchId,
  created: true,
});
const event = (watchId: bigint, key: string, rev: bigint) => ({
  header: header(rev),
  watchId,
  events: [{ type: Event_EventType.PUT, kv: { key: enc(key), value: enc("v"), modRevision: rev } }],
});

describe("creates on a shared stream", () => {
  it("go out one at a time, each after the answer to the one before", async () => {
    const { watch, last, opens } = setup();
    watch("a");
    watch("b");
    watch("c");
    await flush();
    expect(opens()).toBe(1);
    expect(last().creates()).toEqual(["a"]);
    last().answer(created(0n, 10n));
    await flush();
    expect(last().creates()).toEqual(["a", "b"]);
    last().answer(created(1n, 10n));
    await flush();
    expect(last().creates()).toEqual(["a", "b", "c"]);
  });

  it("are matched to the created answers in order, so each watch gets its own events", async () => {
    const { watch, last } = setup();
    const a = watch("a");
    const b = watch("b");
    await flush();
    last().answer(created(7n, 10n));
    await flush();
    last().answer(created(8n, 10n));
    last().answer(event(8n, "b", 11n));
    last().answer(event(7n, "a", 12n));
    last().answer(event(99n, "stray", 13n));
    await flush();
    expect(a.keys()).toEqual(["a"]);
    expect(b.keys()).toEqual(["b"]);
    expect(a.w.state).toBe("watching");
    expect(a.w.revision).toBe(13n);
  });

  it("fails a watch whose create etcd refused", async () => {
    const { watch, last } = setup();
    const a = watch("a");
    await flush();
    last().answer({
      ...created(-1n, 10n),
      canceled: true,
      cancelReason: "etcdserver: permission denied",
    });
    await flush();
    expect(a.w.state).toBe("failed");
    expect(a.errors[0]).toMatchObject({ reason: "permission-denied" });
  });
});

describe("a watch leaving a shared stream", () => {
  it("sends a cancel for its ID and gets no more events; the others go on", async () => {
    const { watch, last } = setup();
    const a = watch("a");
    const b = watch("b");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    last().answer(created(1n, 10n));
    await flush();
    a.w.cancel();
    await flush();
    expect(last().cancels()).toEqual([0n]);
    expect(last().signal.aborted).toBe(false);
    last().answer(event(0n, "a", 11n));
    last().answer(event(1n, "b", 12n));
    await flush();
    expect(a.keys()).toEqual([]);
    expect(b.keys()).toEqual(["b"]);
  });

  // etcd 3.5's WebSocket gateway keeps a watch whose socket closed: the last watch leaving
  // cancels on the server first, and the stream ends once etcd confirms.
  it("sends the last watch's cancel, and ends the stream once etcd confirms it", async () => {
    const { watch, last, idle, stream } = setup();
    const a = watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    a.w.cancel();
    await flush();
    expect(last().cancels()).toEqual([0n]);
    expect(last().signal.aborted).toBe(false);
    let drained = false;
    void stream.drained().then(() => {
      drained = true;
    });
    last().answer({ header: header(10n), watchId: 0n, canceled: true });
    await flush();
    expect(last().signal.aborted).toBe(true);
    expect(drained).toBe(true);
    expect(idle()).toBe(1);
    expect(stream.size).toBe(0);
  });

  it("ends the stream after CANCEL_CONFIRM_MS when etcd never confirms the last cancel", async () => {
    const { watch, last, clock } = setup();
    const a = watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    a.w.cancel();
    await flush();
    await clock.advance(CANCEL_CONFIRM_MS - 1);
    expect(last().signal.aborted).toBe(false);
    await clock.advance(1);
    expect(last().signal.aborted).toBe(true);
  });

  it("keeps the stream for a watch added while the last cancel drains", async () => {
    const { watch, last, streams, clock } = setup();
    const a = watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    a.w.cancel();
    const b = watch("b");
    await flush();
    last().answer({ header: header(10n), watchId: 0n, canceled: true });
    await clock.advance(CANCEL_CONFIRM_MS);
    expect(streams).toHaveLength(1);
    expect(last().signal.aborted).toBe(false);
    expect(last().creates()).toEqual(["a", "b"]);
    last().answer(created(1n, 10n));
    last().answer(event(1n, "b", 11n));
    await flush();
    expect(b.keys()).toEqual(["b"]);
  });

  // Regression (a bug this spec found, now fixed): remove() drops the leaving watch from pendingCreates even while its create is in
  // flight, so etcd's "created" answer for it is matched to the next pending watch: that
  // watch takes the other's watch ID (and its events), its own create is never sent, and the
  // left watch is never canceled on the server. Keep the in-flight head of pendingCreates
  // (handle() already cancels a created watch that has left).
  it("keeps creates matched, and cancels on the server, when a watch leaves mid-create", async () => {
    const { watch, last } = setup();
    const a = watch("a");
    const b = watch("b");
    await flush();
    a.w.cancel();
    last().answer(created(0n, 10n));
    await flush();
    expect(last().cancels()).toEqual([0n]);
    expect(last().creates()).toEqual(["a", "b"]);
    last().answer(event(0n, "a", 11n));
    await flush();
    expect(b.keys()).toEqual([]);
  });
});

describe("a broken stream", () => {
  it("reopens after backoff and re-creates every watch from its next revision", async () => {
    const { clock, watch, streams, last, opens } = setup();
    const a = watch("a");
    const b = watch("b");
    await flush();
    const first = last();
    first.answer(created(0n, 10n));
    await flush();
    first.answer(created(1n, 20n));
    first.answer(event(0n, "a", 15n));
    await flush();
    const down = new StreamError("connection reset");
    first.responses.fail(down);
    await flush();
    expect(first.reports).toEqual([down]);
    await clock.advance(99);
    expect(opens()).toBe(1);
    await clock.advance(1);
    expect(streams).toHaveLength(2);
    expect([a.w.state, b.w.state]).toEqual(["reconnecting", "reconnecting"]);
    const second = last();
    expect(second.creates()).toEqual(["a"]);
    second.answer(created(5n, 30n));
    await flush();
    expect(second.creates()).toEqual(["a", "b"]);
    const starts = second.requests.flatMap((r) =>
      r.requestUnion?.case === "createRequest" ? [r.requestUnion.value.startRevision] : [],
    );
    expect(starts).toEqual([16n, 21n]);
    second.answer(created(6n, 30n));
    second.answer(event(5n, "a", 15n));
    second.answer(event(6n, "b", 25n));
    await flush();
    expect(a.keys()).toEqual(["a"]);
    expect(b.keys()).toEqual(["b"]);
    expect([a.w.state, b.w.state]).toEqual(["watching", "watching"]);
  });

  // Regression (a bug this spec found, now fixed): run() moves its watches to "reconnecting" only when it opens the next stream, after
  // the backoff: for the whole backoff after a break they still say "watching" with no stream.
  // Call w.connecting(true) on each watch as soon as the break is classified.
  it("says reconnecting as soon as the stream breaks, during the backoff", async () => {
    const { watch, last } = setup();
    const a = watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    expect(a.w.state).toBe("watching");
    last().responses.fail(new StreamError("connection reset"));
    await flush();
    expect(a.w.state).toBe("reconnecting");
  });

  it("wake() reopens at once instead of waiting out the backoff (the browser is back online)", async () => {
    const { clock, watch, opens, last, stream } = setup();
    watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    last().responses.fail(new StreamError("connection reset"));
    await clock.advance(50);
    expect(opens()).toBe(1);
    stream.wake();
    await flush();
    expect(opens()).toBe(2);
    expect(clock.timers.size).toBe(0);
  });

  it("backs off longer after each failed open, and starts over once a watch is created", async () => {
    const { clock, watch, opens, last } = setup(2);
    watch("a");
    await flush();
    expect(opens()).toBe(1);
    await clock.advance(100);
    expect(opens()).toBe(2);
    await clock.advance(199);
    expect(opens()).toBe(2);
    await clock.advance(1);
    expect(opens()).toBe(3);
    last().answer(created(0n, 10n));
    await flush();
    last().responses.fail(new StreamError("reset"));
    await clock.advance(100);
    expect(opens()).toBe(4);
  });

  it("reopens when the server ends the stream", async () => {
    const { clock, watch, last, opens } = setup();
    watch("a");
    await flush();
    last().answer(created(0n, 10n));
    await flush();
    last().responses.end();
    await clock.advance(100);
    expect(opens()).toBe(2);
  });

  it("fails every watch, without reopening, on an error that is not the endpoint's", async () => {
    const { clock, watch, last, opens } = setup();
    const a = watch("a");
    const b = watch("b");
    await flush();
    const denied = new StreamError("permission denied", false);
    last().responses.fail(denied);
    await clock.advance(10_000);
    expect(opens()).toBe(1);
    expect(last().reports).toEqual([undefined]);
    expect(a.errors).toEqual([denied]);
    expect(b.errors).toEqual([denied]);
    expect(a.w.state).toBe("failed");
  });

  it("is not reopened when the last watch leaves during the backoff", async () => {
    const { clock, watch, last, opens } = setup();
    const a = watch("a");
    await flush();
    last().responses.fail(new StreamError("reset"));
    await flush();
    a.w.cancel();
    await clock.advance(1_000);
    expect(opens()).toBe(1);
  });
});
