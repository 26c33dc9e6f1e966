import { once } from "node:events";
import {
  createServer,
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../../test/harness/ports.js";
import { neverSent, unprocessedCode } from "../../internal/causes.js";
import { H2Client } from "./h2-client.node.js";
import { defaultSessionOptions } from "./h2-session.node.js";
import type { StreamHandler } from "./h2-stream.node.js";
import { encodeHeaders, type HeaderField } from "./hpack.node.js";

// The session against node's own HTTP/2 server: flow control both ways, stream limits,
// trailers, resets, GOAWAY and a refused connection.

interface Answer {
  headers: HeaderField[][];
  body: Buffer;
  error?: Error;
  rstCode?: number;
}

function collect(): { handler: StreamHandler; done: Promise<Answer> } {
  const answer: Answer = { headers: [], body: Buffer.alloc(0) };
  let resolve: (a: Answer) => void = () => {};
  const done = new Promise<Answer>((r) => {
    resolve = r;
  });
  return {
    done,
    handler: {
      onHeaders: (fields) => answer.headers.push(fields),
      onData: (data) => {
        answer.body = Buffer.concat([answer.body, data]);
      },
      onEnd: (error, rstCode) => {
        if (error) answer.error = error;
        if (rstCode !== undefined) answer.rstCode = rstCode;
        resolve(answer);
      },
    },
  };
}

let server: Http2Server | undefined;
let client: H2Client | undefined;
// node's server may keep a session it sent GOAWAY on after the client left; end them all.
const serverSessions = new Set<ServerHttp2Session>();

async function serve(
  onStream: (s: ServerHttp2Stream, headers: Record<string, unknown>) => void,
  settings: { maxConcurrentStreams?: number } = {},
): Promise<string> {
  server = createServer({ settings });
  server.on("session", (s) => serverSessions.add(s));
  server.on("stream", (s, h) => onStream(s, h as Record<string, unknown>));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function request(c: H2Client, path: string, extra: HeaderField[] = []): Buffer {
  return encodeHeaders([
    [":method", "POST"],
    [":scheme", c.scheme],
    [":path", path],
    [":authority", c.authority],
    ...extra,
  ]);
}

/** Reads the whole request body, then answers with it, and trailers. */
function echo(s: ServerHttp2Stream): void {
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.on("end", () => {
    s.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0" }));
    s.end(Buffer.concat(chunks));
  });
}

afterEach(async () => {
  client?.close();
  client = undefined;
  for (const s of serverSessions) s.destroy();
  serverSessions.clear();
  if (server) {
    const s = server;
    server = undefined;
    await new Promise((r) => s.close(r));
  }
});

describe("H2Session", () => {
  it("sends and receives bodies larger than every window, with headers and trailers", async () => {
    const url = await serve(echo);
    client = new H2Client(url);
    const big = Buffer.alloc(300_000, 7);
    const { handler, done } = collect();
    client.open(request(client, "/echo", [["x-custom", "1"]]), handler).write(big, true);
    const a = await done;
    expect(a.error).toBeUndefined();
    expect(a.body.equals(big)).toBe(true);
    expect(a.headers[0]).toContainEqual([":status", "200"]);
    expect(a.headers[1]).toEqual([["grpc-status", "0"]]);
  });

  it("runs more streams than the server allows at once, queueing the rest", async () => {
    const url = await serve(echo, { maxConcurrentStreams: 5 });
    client = new H2Client(url);
    const calls = Array.from({ length: 40 }, (_, i) => {
      const { handler, done } = collect();
      client?.open(request(client, "/echo"), handler).write(Buffer.from(`call ${i}`), true);
      return done;
    });
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.body.toString())).toEqual(calls.map((_, i) => `call ${i}`));
  });

  it("decodes a header block split over CONTINUATION frames", async () => {
    const long = "v".repeat(40_000);
    const url = await serve((s) => {
      s.respond({ ":status": 200, "x-long": long }, { endStream: true });
    });
    client = new H2Client(url);
    const { handler, done } = collect();
    client.open(request(client, "/"), handler).end();
    const a = await done;
    expect(a.headers[0]).toContainEqual(["x-long", long]);
  });

  it("reports a reset stream with its code, and the session goes on", async () => {
    const url = await serve((s, h) => {
      if (h[":path"] === "/reset") s.close(8);
      else echo(s);
    });
    client = new H2Client(url);
    const reset = collect();
    client.open(request(client, "/reset"), reset.handler).end();
    expect((await reset.done).rstCode).toBe(8);
    const ok = collect();
    client.open(request(client, "/echo"), ok.handler).write(Buffer.from("after"), true);
    expect((await ok.done).body.toString()).toBe("after");
  });

  it("opens a new connection after the server's GOAWAY", async () => {
    let sessions = 0;
    const url = await serve(echo);
    server?.on("session", (s) => {
      sessions++;
      if (sessions === 1) setTimeout(() => s.goaway(0), 50);
    });
    client = new H2Client(url);
    const first = collect();
    client.open(request(client, "/echo"), first.handler).write(Buffer.from("1"), true);
    expect((await first.done).body.toString()).toBe("1");
    await new Promise((r) => setTimeout(r, 150));
    const second = collect();
    client.open(request(client, "/echo"), second.handler).write(Buffer.from("2"), true);
    expect((await second.done).body.toString()).toBe("2");
    expect(sessions).toBe(2);
  });

  it("fails streams with the socket's error when nothing listens (ECONNREFUSED)", async () => {
    client = new H2Client(`http://127.0.0.1:${await freePort()}`);
    const { handler, done } = collect();
    client.open(request(client, "/"), handler).end();
    const a = await done;
    expect((a.error as { code?: string } | undefined)?.code).toBe("ECONNREFUSED");
  });

  it("fails open streams when the connection drops", async () => {
    const url = await serve((s) => {
      s.respond({ ":status": 200 });
      setTimeout(() => s.session?.destroy(), 20);
    });
    client = new H2Client(url);
    const { handler, done } = collect();
    client.open(request(client, "/"), handler).end();
    const a = await done;
    expect(a.error).toBeInstanceOf(Error);
    expect(a.headers).toHaveLength(1);
  });

  it("cancel() resets the stream and nothing more is reported", async () => {
    let serverSaw: number | undefined;
    const url = await serve((s) => {
      s.on("close", () => {
        serverSaw = s.rstCode;
      });
    });
    client = new H2Client(url);
    const { handler } = collect();
    let ended = false;
    const stream = client.open(request(client, "/"), { ...handler, onEnd: () => (ended = true) });
    stream.write(Buffer.from("x"));
    await new Promise((r) => setTimeout(r, 50));
    stream.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(serverSaw).toBe(8);
    expect(ended).toBe(false);
  });
});

// ---- against a raw HTTP/2 peer, for what node's server will not do on demand ----

type RawFrame = { type: number; flags: number; id: number; payload: Buffer };

function rawFrame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/**
 * A server that speaks just enough HTTP/2: it reads the preface, sends empty SETTINGS, acks
 * the client's, and hands every other frame to onFrame.
 */
async function rawServe(onFrame: (f: RawFrame, socket: Socket) => void): Promise<string> {
  raw = createNetServer((socket) => {
    rawSockets.add(socket);
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.write(rawFrame(4, 0, 0));
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaceSeen) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        prefaceSeen = true;
      }
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const len = buf.readUIntBE(0, 3);
        const f = {
          type: buf[3] as number,
          flags: buf[4] as number,
          id: buf.readUInt32BE(5) & 0x7fffffff,
          payload: buf.subarray(9, 9 + len),
        };
        buf = buf.subarray(9 + len);
        if (f.type === 4 && (f.flags & 1) === 0) socket.write(rawFrame(4, 1, 0));
        else onFrame(f, socket);
      }
    });
    socket.on("error", () => {});
  });
  raw.listen(0, "127.0.0.1");
  await once(raw, "listening");
  return `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
}

let raw: NetServer | undefined;
const rawSockets = new Set<Socket>();

afterEach(async () => {
  for (const s of rawSockets) s.destroy();
  rawSockets.clear();
  if (raw) {
    const r = raw;
    raw = undefined;
    await new Promise((res) => r.close(res));
  }
});

function goAway(lastId: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(lastId, 0);
  b.writeUInt32BE(0, 4);
  return rawFrame(7, 0, 0, b);
}

describe("H2Session: what the server did not process", () => {
  it("fails streams above a GOAWAY's last stream ID as unprocessed, and lets the rest finish", async () => {
    const seen: number[] = [];
    const url = await rawServe((f, socket) => {
      if (f.type !== 1) return;
      seen.push(f.id);
      if (seen.length < 2) return;
      // Both streams arrived: the server processes the first only.
      socket.write(goAway(seen[0] as number));
      const ok = encodeHeaders([
        [":status", "200"],
        ["grpc-status", "0"],
      ]);
      socket.write(rawFrame(1, 0x4 | 0x1, seen[0] as number, ok));
    });
    client = new H2Client(url);
    const first = collect();
    const second = collect();
    client.open(request(client, "/a"), first.handler).end();
    client.open(request(client, "/b"), second.handler).end();
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.error).toBeUndefined();
    expect(a.headers[0]).toContainEqual([":status", "200"]);
    expect((b.error as { code?: string } | undefined)?.code).toBe(unprocessedCode);
    expect(neverSent(b.error)).toBe(true);
  });

  it("keeps streams at or below a GOAWAY's last stream ID as possibly processed", async () => {
    const url = await rawServe((f, socket) => {
      if (f.type !== 1) return;
      socket.write(goAway(f.id));
      setTimeout(() => socket.destroy(), 20);
    });
    client = new H2Client(url);
    const { handler, done } = collect();
    client.open(request(client, "/a"), handler).end();
    const a = await done;
    expect(a.error).toBeInstanceOf(Error);
    expect(neverSent(a.error)).toBe(false);
  });

  it("fails streams that never started, when the connection dies first, as unprocessed", async () => {
    // The server never sends SETTINGS, so no stream may start; then it hangs up.
    raw = createNetServer((socket) => {
      rawSockets.add(socket);
      setTimeout(() => socket.destroy(), 50);
    });
    raw.listen(0, "127.0.0.1");
    await once(raw, "listening");
    client = new H2Client(`http://127.0.0.1:${(raw.address() as AddressInfo).port}`);
    const { handler, done } = collect();
    client.open(request(client, "/a"), handler).end();
    const a = await done;
    expect(neverSent(a.error)).toBe(true);
    expect(neverSent((a.error as Error).cause)).toBe(false);
  });

  it("pings a connection reused after a silence, and drops it when the PING goes unanswered", async () => {
    const pings: number[] = [];
    const url = await rawServe((f, socket) => {
      if (f.type === 6) pings.push(Date.now());
      if (f.type === 1 && f.id === 1) {
        const ok = encodeHeaders([
          [":status", "200"],
          ["grpc-status", "0"],
        ]);
        socket.write(rawFrame(1, 0x5, f.id, ok));
      }
      // Later streams and the PING get no answer: the peer went silent.
    });
    client = new H2Client(url, {
      ...defaultSessionOptions,
      pingIntervalMs: 100,
      pingTimeoutMs: 200,
    });
    const first = collect();
    client.open(request(client, "/a"), first.handler).end();
    expect((await first.done).error).toBeUndefined();
    expect(pings).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 150));
    const second = collect();
    client.open(request(client, "/b"), second.handler).end();
    const b = await second.done;
    expect(pings).toHaveLength(1);
    expect((b.error as { code?: string } | undefined)?.code).toBe("ETIMEDOUT");
  });
});
