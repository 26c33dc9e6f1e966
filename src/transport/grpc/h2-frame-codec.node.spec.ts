import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { expectConnectionError, openStream, within } from "../../../test/fakes/h2-probe.js";
import {
  E,
  END_HEADERS,
  END_STREAM,
  h2Frame,
  okHeaders,
  okTrailers,
  PADDED,
  RawH2Peer,
  T,
  u32,
} from "../../../test/fakes/raw-h2-peer.js";
import { H2Client } from "./h2-client.node.js";
import { FrameReader } from "./h2-frame-codec.node.js";

// Frames from a server that break RFC 9113's framing rules (sections 4 and 6): each is a
// connection error of the named type.

let peer: RawH2Peer;
let client: H2Client | undefined;

beforeAll(async () => {
  peer = await RawH2Peer.start();
});
afterAll(() => peer.close());
afterEach(() => {
  vi.restoreAllMocks();
  client?.close();
  client = undefined;
  peer.dropAll();
});

const data = (id: number, payload: Buffer, flags = 0) => h2Frame(T.DATA, flags, id, payload);

describe("framing (RFC 9113 sections 4 and 6)", { timeout: 5000 }, () => {
  it("a frame larger than the SETTINGS_MAX_FRAME_SIZE this side advertised is a FRAME_SIZE_ERROR (section 4.2)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) =>
        conn.write(h2Frame(T.HEADERS, END_HEADERS, id, okHeaders), data(id, Buffer.alloc(16_385))),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("a frame header claiming more than the maximum fails at once, before its payload arrives (section 4.2)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.DATA, 0, id, Buffer.alloc(0), 2 ** 24 - 1)),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("a PING whose length is not 8 is a FRAME_SIZE_ERROR (section 6.7)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.PING, 0, 0, Buffer.alloc(7))),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("a PING on a stream is a PROTOCOL_ERROR (section 6.7)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.PING, 0, id, Buffer.alloc(8))),
      E.PROTOCOL_ERROR,
    );
  });

  it("DATA on stream 0 is a PROTOCOL_ERROR (section 6.1)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(data(0, Buffer.from("x"))),
      E.PROTOCOL_ERROR,
    );
  });

  it("HEADERS on stream 0 is a PROTOCOL_ERROR (section 6.2)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.HEADERS, END_HEADERS, 0, okHeaders)),
      E.PROTOCOL_ERROR,
    );
  });

  it("DATA on an idle stream is a PROTOCOL_ERROR (section 5.1)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(data(id + 2, Buffer.from("x"))),
      E.PROTOCOL_ERROR,
    );
  });

  it("HEADERS on an idle stream is a PROTOCOL_ERROR (section 5.1)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.HEADERS, END_HEADERS, id + 2, okHeaders)),
      E.PROTOCOL_ERROR,
    );
  });

  it("HEADERS on an even (server-initiated) stream, with push off, is a PROTOCOL_ERROR (section 5.1.1)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.HEADERS, END_HEADERS, 2, okHeaders)),
      E.PROTOCOL_ERROR,
    );
  });

  it("DATA whose padding is as long as its payload is a PROTOCOL_ERROR (section 6.1)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) =>
        conn.write(
          h2Frame(T.HEADERS, END_HEADERS, id, okHeaders),
          data(id, Buffer.from([5, 1, 2, 3, 4]), PADDED),
        ),
      E.PROTOCOL_ERROR,
    );
  });

  it("HEADERS whose padding is longer than its payload is a PROTOCOL_ERROR (section 6.2)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) =>
        conn.write(
          h2Frame(
            T.HEADERS,
            END_HEADERS | PADDED,
            id,
            Buffer.concat([Buffer.from([200]), okHeaders]),
          ),
        ),
      E.PROTOCOL_ERROR,
    );
  });

  it("RST_STREAM whose length is not 4 is a FRAME_SIZE_ERROR (section 6.4)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.RST_STREAM, 0, id, Buffer.alloc(3))),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("RST_STREAM on stream 0 is a PROTOCOL_ERROR (section 6.4)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.RST_STREAM, 0, 0, u32(8))),
      E.PROTOCOL_ERROR,
    );
  });

  it("a PRIORITY whose length is not 5 is a FRAME_SIZE_ERROR (section 6.3; a connection error, as nghttp2 makes it and section 5.4.1 allows)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.PRIORITY, 0, id, Buffer.alloc(4))),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("PRIORITY on stream 0 is a PROTOCOL_ERROR (section 6.3)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.PRIORITY, 0, 0, Buffer.alloc(5))),
      E.PROTOCOL_ERROR,
    );
  });

  it("ignores a well-formed PRIORITY, even on a stream it never opened (section 5.3.2, 6.3)", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    conn.write(
      h2Frame(T.PRIORITY, 0, req.id + 200, Buffer.from([0, 0, 0, 0, 15])),
      h2Frame(T.HEADERS, END_HEADERS, req.id, okHeaders),
      h2Frame(T.PRIORITY, 0, req.id, Buffer.from([0, 0, 0, 0, 15])),
      data(req.id, Buffer.from("ok")),
      h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okTrailers),
    );
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error).toBeUndefined();
    expect(Buffer.concat(heard.body).toString()).toBe("ok");
    expect(conn.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
  });

  it("GOAWAY on a stream is a PROTOCOL_ERROR (section 6.8)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.GOAWAY, 0, id, u32(0, 0))),
      E.PROTOCOL_ERROR,
    );
  });

  it("PUSH_PROMISE, with push off, is a PROTOCOL_ERROR (section 6.6)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) =>
        conn.write(h2Frame(T.PUSH_PROMISE, END_HEADERS, id, Buffer.concat([u32(2), okHeaders]))),
      E.PROTOCOL_ERROR,
    );
  });

  it("a CONTINUATION without HEADERS before it is a PROTOCOL_ERROR (section 6.10)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(h2Frame(T.CONTINUATION, END_HEADERS, id, okHeaders)),
      E.PROTOCOL_ERROR,
    );
  });

  it("delivers padded DATA without its padding, and ignores frames of a stream it closed (section 6.1, 5.4.2)", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    conn.write(
      h2Frame(T.HEADERS, END_HEADERS, req.id, okHeaders),
      data(req.id, Buffer.from([2, 0x61, 0x62, 0x63, 0, 0]), PADDED),
      h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okTrailers),
      // A late DATA frame for the stream that just ended: ignored, not fatal.
      data(req.id, Buffer.from("late")),
    );
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error).toBeUndefined();
    expect(Buffer.concat(heard.body).toString()).toBe("abc");
    const second = openStream(client);
    const req2 = await conn.frame((f) => f.type === T.HEADERS && f.id > req.id, "a second stream");
    conn.write(h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req2.id, okHeaders));
    expect((await within(second.done, 2000, "the second stream's end")).error).toBeUndefined();
    expect(conn.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
  });

  it("reassembles frames split over many socket reads with copies that grow linearly", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    conn.write(h2Frame(T.HEADERS, END_HEADERS, req.id, okHeaders));
    const payload = Buffer.alloc(16_384, 0x62);
    const frames = Buffer.concat(Array.from({ length: 8 }, () => data(req.id, payload)));
    let copied = 0;
    const concat = Buffer.concat;
    vi.spyOn(Buffer, "concat").mockImplementation((list, total) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    });
    // 128 KiB in 100-byte writes, each after the last was read: many small socket reads.
    for (let off = 0; off < frames.length; off += 100) {
      conn.write(frames.subarray(off, off + 100));
      await new Promise((r) => setImmediate(r));
    }
    conn.write(h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okTrailers));
    const heard = await within(call.done, 4000, "the stream's end");
    vi.restoreAllMocks();
    expect(Buffer.concat(heard.body).length).toBe(8 * 16_384);
    // Each frame's bytes are copied a bounded number of times, not once per read.
    expect(copied).toBeLessThan(4 * frames.length);
  });
});

describe("FrameReader", () => {
  it("gives back every frame, whatever the reads' boundaries (section 4.1)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const frames = Array.from({ length: 200 }, (_, i) =>
      h2Frame(i % 10, i % 256, i, Buffer.alloc(rand(3) === 0 ? 0 : rand(16_385), i % 251)),
    );
    const wire = Buffer.concat(frames);
    for (const maxRead of [1, 7, 9, 10, 100, 16_393, 70_000]) {
      const reader = new FrameReader(16_384);
      const got: Buffer[] = [];
      for (let off = 0; off < wire.length; ) {
        const n = 1 + rand(maxRead);
        reader.push(wire.subarray(off, off + n), (type, flags, id, payload) => {
          got.push(h2Frame(type, flags, id, payload));
          return true;
        });
        off += n;
      }
      expect(got.length, `reads of up to ${maxRead} bytes`).toBe(frames.length);
      expect(Buffer.concat(got).equals(wire)).toBe(true);
    }
  });
});
