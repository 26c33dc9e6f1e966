import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestBlock } from "../../../test/fakes/h2-probe.js";
import {
  ACK,
  END_HEADERS,
  END_STREAM,
  h2Frame,
  okHeaders,
  okTrailers,
  PADDED,
  settingsPayload,
  T,
  u32,
} from "../../../test/fakes/raw-h2-peer.js";
import { seededRandom } from "../../../test/fakes/seeded-random.js";
import { RangeResponseCodec } from "../../gen/etcdserverpb/rpc_codec.js";
import { GrpcCall } from "./grpc-call.node.js";
import { H2Client } from "./h2-client.node.js";
import { defaultSessionOptions } from "./h2-session.node.js";

// A malicious server: seeded random frame sequences, each on a connection of its own, against
// one gRPC call each. No call may outlive its deadline, nothing may throw outside the call's
// promise, and memory must come back. ETCD_WEB_FUZZ_RUNS runs more (default 10,000);
// ETCD_WEB_FUZZ_SEED repeats a run; a failure prints the seed and the sequence's index.

const runs = Number(process.env.ETCD_WEB_FUZZ_RUNS ?? 10_000);
const seed = Number(process.env.ETCD_WEB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Sequences run side by side, each lane on a listening server of its own, in order. */
const lanes = 32;
/** The call's deadline; a server that goes silent ends the call only through it. */
const deadlineMs = 100;
/** How long past its deadline a call may take to settle before it counts as hung. */
const graceMs = 2000;
const maxResponseBytes = 1 << 20;
/** Memory that may stay after all runs, after GC: the heap, and the process's RSS. */
const heapBoundBytes = 32 << 20;
const rssBoundBytes = 160 << 20;

interface Sequence {
  /** What the server writes, in pieces (each its own write). */
  writes: Buffer[];
  /** End the connection after the writes; otherwise stay silent with it open. */
  end: boolean;
}

const floodFrames = [h2Frame(T.PING, 0, 0, Buffer.alloc(8)), h2Frame(T.SETTINGS, 0, 0)];

const edgeValues = [
  0,
  1,
  8,
  16_383,
  16_384,
  65_535,
  2 ** 24 - 1,
  2 ** 24,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
];

function sequence(index: number): Sequence {
  const r = seededRandom(seed ^ Math.imul(index + 1, 0x9e3779b1));
  const int = (n: number) => Math.floor(r() * n);
  const pick = <X>(xs: readonly X[]): X => xs[int(xs.length)] as X;
  const value = () => (r() < 0.5 ? pick(edgeValues) : int(2 ** 32));
  const bytes = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  // Stream 1 is the call's; the others are idle, stream 0, or would be pushed.
  const stream = () => (r() < 0.75 ? 1 : pick([0, 2, 3, 5, 2 ** 31 - 1]));
  const grpcMessage = () => {
    const len = r() < 0.7 ? int(64) : pick(edgeValues);
    const b = Buffer.alloc(5);
    b[0] = r() < 0.9 ? 0 : int(256);
    b.writeUInt32BE(len >>> 0, 1);
    return Buffer.concat([b, bytes(Math.min(len, int(200)))]);
  };
  const block = () =>
    pick([
      okHeaders,
      okTrailers,
      () => bytes(int(40)),
      // A table size update, within or past the limit, maybe after a field.
      () =>
        Buffer.concat([
          r() < 0.5 ? okHeaders : Buffer.alloc(0),
          Buffer.from([0x3f, int(256), int(128)]),
        ]),
      // A literal with indexing, then many references to it: a small HPACK bomb.
      () =>
        Buffer.concat([
          Buffer.from([0x40, 1, 0x78, 0x7f, 0x81, 0x1f]),
          Buffer.alloc(4000, 0x61),
          Buffer.alloc(int(200), 0xbe),
        ]),
    ] as const);
  const asBuffer = (b: Buffer | (() => Buffer)) => (typeof b === "function" ? b() : b);
  const frame = (): Buffer => {
    switch (int(15)) {
      case 0:
      case 1: {
        const padded = r() < 0.2;
        const body = grpcMessage();
        const payload = padded ? Buffer.concat([Buffer.from([int(body.length + 4)]), body]) : body;
        return h2Frame(
          T.DATA,
          (padded ? PADDED : 0) | (r() < 0.3 ? END_STREAM : 0),
          stream(),
          payload,
        );
      }
      case 2:
      case 3: {
        const flags =
          (r() < 0.8 ? END_HEADERS : 0) |
          (r() < 0.4 ? END_STREAM : 0) |
          (r() < 0.1 ? PADDED : 0) |
          (r() < 0.1 ? 0x20 : 0);
        return h2Frame(T.HEADERS, flags, stream(), asBuffer(block()));
      }
      case 4:
        return h2Frame(T.CONTINUATION, r() < 0.5 ? END_HEADERS : 0, stream(), asBuffer(block()));
      case 5: {
        const entries = Array.from({ length: int(4) }, (): [number, number] => [
          1 + int(7),
          value(),
        ]);
        const payload = settingsPayload(entries);
        return h2Frame(
          T.SETTINGS,
          r() < 0.2 ? ACK : 0,
          r() < 0.95 ? 0 : 1,
          r() < 0.1 ? payload.subarray(0, int(payload.length + 1)) : payload,
        );
      }
      case 6:
        return h2Frame(
          T.PING,
          r() < 0.3 ? ACK : 0,
          r() < 0.95 ? 0 : 1,
          bytes(r() < 0.9 ? 8 : int(12)),
        );
      case 7:
        return h2Frame(
          T.GOAWAY,
          0,
          r() < 0.95 ? 0 : 1,
          Buffer.concat([u32(int(4), int(14)), bytes(int(4))]).subarray(
            0,
            r() < 0.9 ? undefined : int(8),
          ),
        );
      case 8:
        return h2Frame(
          T.WINDOW_UPDATE,
          0,
          r() < 0.5 ? 0 : stream(),
          r() < 0.95 ? u32(value()) : bytes(int(6)),
        );
      case 9:
        return h2Frame(T.RST_STREAM, 0, stream(), r() < 0.95 ? u32(int(14)) : bytes(int(6)));
      case 10:
        return h2Frame(
          pick([T.PUSH_PROMISE, T.PRIORITY, 0x20, 0xff]),
          int(256),
          stream(),
          bytes(int(10)),
        );
      case 11:
        // A header that claims more than what follows.
        return h2Frame(int(10), int(256), stream(), bytes(int(20)), pick(edgeValues) & 0xffffff);
      case 12:
        // Now and then, a flood of PINGs or of SETTINGS, around the limit on unsent ACKs.
        if (r() < 0.8) return h2Frame(T.PING, 0, 0, Buffer.alloc(8));
        return Buffer.concat(Array.from({ length: 900 + int(300) }, () => pick(floodFrames)));
      case 13:
        // The rest of a good answer: one empty message and the trailers.
        return Buffer.concat([
          h2Frame(T.DATA, 0, 1, Buffer.alloc(5)),
          h2Frame(T.HEADERS, END_HEADERS | END_STREAM, 1, okTrailers),
        ]);
      default:
        return bytes(int(30));
    }
  };
  const frames: Buffer[] = [];
  if (r() < 0.85)
    frames.push(
      h2Frame(T.SETTINGS, 0, 0, settingsPayload(r() < 0.7 ? [] : [[1 + int(6), value()]])),
    );
  // Most sequences answer the call, so that the frames after reach a live stream.
  if (r() < 0.5) frames.push(h2Frame(T.HEADERS, END_HEADERS, 1, okHeaders));
  for (let n = 1 + int(10); n > 0; n--) frames.push(frame());
  const all = Buffer.concat(frames);
  // Split at random places, so that frames straddle socket reads.
  const writes: Buffer[] = [];
  for (let off = 0; off < all.length; ) {
    const n = r() < 0.5 ? all.length - off : 1 + int(all.length - off);
    writes.push(all.subarray(off, off + n));
    off += n;
  }
  return { writes, end: r() < 0.98 };
}

/** A server that plays the lane's sequences to its connections, in the order they arrive. */
async function laneServer(
  lane: number,
  sockets: Set<Socket>,
): Promise<{ server: Server; url: string }> {
  let next = lane;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    // Whatever the client sends is read and dropped.
    socket.resume();
    const s = sequence(next);
    next += lanes;
    void (async () => {
      for (const w of s.writes) {
        if (socket.destroyed) return;
        socket.write(w);
        await new Promise((res) => setImmediate(res));
      }
      if (s.end && !socket.destroyed) socket.end();
    })();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What one call did; errors are not kept, so that the outcomes do not weigh on memory. */
type Outcome = { index: number; settled: boolean; ok: boolean; connectError: boolean };

async function runOne(url: string, index: number): Promise<Outcome> {
  const client = new H2Client(url, { ...defaultSessionOptions, connectTimeoutMs: 1000 });
  const call = new GrpcCall(RangeResponseCodec, undefined, deadlineMs, maxResponseBytes);
  call.stream = client.open(requestBlock(client), call);
  call.stream.write(Buffer.from([0, 0, 0, 0, 0]), true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((res) => {
    timer = setTimeout(() => res("hung"), deadlineMs + graceMs);
  });
  const result = await Promise.race([
    call.unary().then(
      () => "ok" as const,
      (e: unknown) => ({ e }),
    ),
    hung,
  ]);
  clearTimeout(timer);
  client.close();
  if (result === "hung") return { index, settled: false, ok: false, connectError: false };
  if (result === "ok") return { index, settled: true, ok: true, connectError: false };
  return { index, settled: true, ok: false, connectError: result.e instanceof ConnectError };
}

function heap(gc: () => void): { heapUsed: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

describe("a malicious server: seeded random frame sequences", () => {
  const sockets = new Set<Socket>();
  const servers: Array<{ server: Server; url: string }> = [];
  const stray: unknown[] = [];
  const trap = (e: unknown) => stray.push(e);
  let gc: () => void = () => {};

  beforeAll(async () => {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
    for (let i = 0; i < lanes; i++) servers.push(await laneServer(i, sockets));
    process.on("uncaughtException", trap);
    process.on("unhandledRejection", trap);
  });
  afterAll(async () => {
    process.off("uncaughtException", trap);
    process.off("unhandledRejection", trap);
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map(({ server }) => new Promise((r) => server.close(r))));
  });

  it(
    `runs ${runs} sequences: each call settles by its deadline, nothing escapes, memory comes back (seed ${seed})`,
    async () => {
      const before = heap(gc);
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      const outcomes: Outcome[] = [];
      await Promise.all(
        servers.map(async ({ url }, lane) => {
          for (let i = lane; i < runs; i += lanes) outcomes.push(await runOne(url, i));
        }),
      );
      const ms = Math.round(performance.now() - started);
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
      // Connections the client closed may still be closing on the server's side.
      for (let i = 0; i < 100 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
      const after = heap(gc);
      const growth = {
        heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
        rssMiB: (after.rss - before.rss) / 2 ** 20,
      };
      const ok = outcomes.filter((o) => o.ok).length;
      console.log(
        `h2 fuzz: seed ${seed}, ${runs} sequences in ${ms} ms (CPU ${cpuMs} ms; ${ok} calls succeeded), heap ${growth.heapMiB.toFixed(1)} MiB, RSS ${growth.rssMiB.toFixed(1)} MiB after GC`,
      );
      const hung = outcomes.filter((o) => !o.settled).map((o) => o.index);
      const where = `(ETCD_WEB_FUZZ_SEED=${seed})`;
      expect(
        hung,
        `calls that outlived their deadline by ${graceMs} ms, by index ${where}`,
      ).toEqual([]);
      const notConnect = outcomes.filter((o) => o.settled && !o.ok && !o.connectError);
      expect(
        notConnect.map((o) => o.index),
        `failures that are not ConnectErrors ${where}`,
      ).toEqual([]);
      expect(stray, `errors thrown outside a call's promise ${where}`).toEqual([]);
      expect(outcomes).toHaveLength(runs);
      expect(after.heapUsed - before.heapUsed, `heap growth ${where}`).toBeLessThan(heapBoundBytes);
      expect(after.rss - before.rss, `RSS growth ${where}`).toBeLessThan(rssBoundBytes);
    },
    Math.max(60_000, runs * 20),
  );
});
