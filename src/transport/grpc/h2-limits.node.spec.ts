import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  expectConnectionError,
  openStream,
  probe,
  requestBlock,
  within,
} from "../../../test/fakes/h2-probe.js";
import {
  ACK,
  E,
  END_HEADERS,
  END_STREAM,
  h2Frame,
  okHeaders,
  RawH2Peer,
  T,
  u32,
} from "../../../test/fakes/raw-h2-peer.js";
import { H2Client } from "./h2-client.node.js";

// Limits on what a server can make this side hold or do (RFC 9113 section 10.5): the header
// list, and control frames that each ask for an answer.

let peer: RawH2Peer;
let client: H2Client | undefined;

beforeAll(async () => {
  peer = await RawH2Peer.start();
});
afterAll(() => peer.close());
afterEach(() => {
  client?.close();
  client = undefined;
  peer.dropAll();
});

/** A literal header field with incremental indexing and a new name (RFC 7541 section 6.2.1). */
function indexedLiteral(name: string, value: string): Buffer {
  const v = Buffer.from(value, "latin1");
  // The value's length as an HPACK integer with a 7-bit prefix.
  const len: number[] = [];
  if (v.length < 127) len.push(v.length);
  else {
    len.push(127);
    let rest = v.length - 127;
    while (rest >= 128) {
      len.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    len.push(rest);
  }
  return Buffer.concat([
    Buffer.from([0x40, name.length]),
    Buffer.from(name, "latin1"),
    Buffer.from(len),
    v,
  ]);
}

/** A header block in a HEADERS frame and as many CONTINUATION frames as it takes. */
function headerFrames(id: number, block: Buffer, flags = 0): Buffer {
  const frames: Buffer[] = [];
  for (let off = 0; off < block.length || off === 0; off += 16_384) {
    const last = off + 16_384 >= block.length;
    frames.push(
      h2Frame(
        off === 0 ? T.HEADERS : T.CONTINUATION,
        (last ? END_HEADERS : 0) | (off === 0 ? flags : 0),
        id,
        block.subarray(off, off + 16_384),
      ),
    );
    if (last) break;
  }
  return Buffer.concat(frames);
}

describe("the header list (RFC 9113 sections 6.5.2 and 10.5.1, RFC 7541 section 4.1)", {
  timeout: 5000,
}, () => {
  it("a CONTINUATION flood ends the connection once 64 KiB of header block arrived, not at the deadline", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => {
        const cont = h2Frame(T.CONTINUATION, 0, id, Buffer.alloc(16_384, 0x41));
        // 4 MiB of CONTINUATION frames that never end the block.
        conn.write(
          h2Frame(T.HEADERS, 0, id, okHeaders),
          Buffer.concat(Array.from({ length: 256 }, () => cont)),
        );
      },
      E.ENHANCE_YOUR_CALM,
    );
  });

  it("an HPACK bomb (a 4 KB entry referenced 20 times in 4 KB of block) fails on its decoded size", async () => {
    const block = Buffer.concat([
      Buffer.from([0x88]),
      indexedLiteral("x", "a".repeat(4000)),
      // Index 62: the newest dynamic-table entry, one byte each (RFC 7541 section 6.1).
      Buffer.alloc(20, 0xbe),
    ]);
    expect(block.length).toBeLessThan(4100);
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(headerFrames(id, block)),
      E.ENHANCE_YOUR_CALM,
    );
  });

  it("takes a header list just under 64 KiB, counting 32 bytes per field", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    // ":status: 200" (7 + 3 + 32) + "x: ..." (1 + n + 32) = 65,536 exactly.
    const value = "v".repeat(65_536 - 42 - 33);
    conn.write(
      headerFrames(
        req.id,
        Buffer.concat([Buffer.from([0x88]), indexedLiteral("x", value)]),
        END_STREAM,
      ),
    );
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error).toBeUndefined();
    expect(heard.headers[0]).toContainEqual(["x", value]);
  });

  it("one byte more is refused", async () => {
    const value = "v".repeat(65_536 - 42 - 33 + 1);
    await expectConnectionError(
      peer,
      (conn, id) =>
        conn.write(
          headerFrames(id, Buffer.concat([Buffer.from([0x88]), indexedLiteral("x", value)])),
        ),
      E.ENHANCE_YOUR_CALM,
    );
  });
});

describe("control-frame floods (RFC 9113 section 10.5)", { timeout: 5000 }, () => {
  it("answers 500 PINGs in a burst", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    const ping = h2Frame(T.PING, 0, 0, Buffer.alloc(8, 7));
    conn.write(Buffer.concat(Array.from({ length: 500 }, () => ping)));
    await conn.frame(
      () => conn.frames.filter((f) => f.type === T.PING && f.flags & ACK).length === 500,
      "500 PING ACKs",
    );
    conn.write(h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okHeaders));
    expect((await within(call.done, 2000, "the stream's end")).error).toBeUndefined();
  });

  it("a PING flood (5,000 in a burst) ends the connection with ENHANCE_YOUR_CALM", async () => {
    const ping = h2Frame(T.PING, 0, 0, Buffer.alloc(8, 7));
    await expectConnectionError(
      peer,
      (conn) => conn.write(Buffer.concat(Array.from({ length: 5000 }, () => ping))),
      E.ENHANCE_YOUR_CALM,
    );
  });

  it("a SETTINGS flood (5,000 in a burst) ends the connection with ENHANCE_YOUR_CALM", async () => {
    const settings = h2Frame(T.SETTINGS, 0, 0);
    await expectConnectionError(
      peer,
      (conn) => conn.write(Buffer.concat(Array.from({ length: 5000 }, () => settings))),
      E.ENHANCE_YOUR_CALM,
    );
  });

  it("holds frames while the socket is backed up, and counts the ACKs held there", async () => {
    client = new H2Client(peer.url);
    const p = probe();
    const stream = client.open(requestBlock(client), p.handler);
    const conn = await peer.next();
    const req = await conn.request();
    // The server stops reading and opens every window: the client's 32 MiB backs up.
    conn.socket.pause();
    conn.write(
      h2Frame(T.WINDOW_UPDATE, 0, 0, u32(2 ** 30)),
      h2Frame(T.WINDOW_UPDATE, 0, req.id, u32(2 ** 30)),
    );
    await new Promise((r) => setTimeout(r, 20));
    stream.write(Buffer.alloc(32 << 20), true);
    // PINGs in small bursts, each read on its own: none is a flood, all of them are.
    const ping = h2Frame(T.PING, 0, 0, Buffer.alloc(8, 7));
    for (let i = 0; i < 12 && !conn.closed; i++) {
      conn.write(Buffer.concat(Array.from({ length: 100 }, () => ping)));
      await new Promise((r) => setTimeout(r, 10));
    }
    const heard = await within(p.done, 2000, "the stream's end");
    expect(heard.error?.message).toMatch(/ENHANCE_YOUR_CALM/);
  });
});
