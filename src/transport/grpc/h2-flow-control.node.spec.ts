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
  rstCode,
  settingsPayload,
  T,
  u32,
} from "../../../test/fakes/raw-h2-peer.js";
import { H2Client } from "./h2-client.node.js";

// WINDOW_UPDATE from a server (RFC 9113 section 6.9): an increment of 0, or a window pushed past
// 2^31-1, is an error of the connection (stream 0) or of the stream alone.

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

const windowUpdate = (id: number, n: number) => h2Frame(T.WINDOW_UPDATE, 0, id, u32(n));

/** The stream fails with RST_STREAM(code) sent, and a second stream on the connection works. */
async function expectStreamError(misbehave: (id: number) => Buffer, code: number): Promise<void> {
  client = new H2Client(peer.url);
  const call = openStream(client);
  const conn = await peer.next();
  const req = await conn.request();
  conn.write(misbehave(req.id));
  const rst = await conn.frame((f) => f.type === T.RST_STREAM && f.id === req.id, "RST_STREAM");
  expect(rstCode(rst)).toBe(code);
  const heard = await within(call.done, 2000, "the stream's end");
  expect(heard.error ?? heard.rstCode).toBeDefined();
  const second = openStream(client);
  const req2 = await conn.frame((f) => f.type === T.HEADERS && f.id > req.id, "a second stream");
  conn.write(h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req2.id, okHeaders));
  expect((await within(second.done, 2000, "the second stream's end")).error).toBeUndefined();
  expect(conn.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
}

describe("WINDOW_UPDATE (RFC 9113 section 6.9)", { timeout: 5000 }, () => {
  it("an increment of 0 on the connection is a PROTOCOL_ERROR", async () => {
    await expectConnectionError(peer, (conn) => conn.write(windowUpdate(0, 0)), E.PROTOCOL_ERROR);
  });

  it("an increment of 0 on a stream is a stream error PROTOCOL_ERROR", async () => {
    await expectStreamError((id) => windowUpdate(id, 0), E.PROTOCOL_ERROR);
  });

  it("a connection window past 2^31-1 is a FLOW_CONTROL_ERROR (section 6.9.1)", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(windowUpdate(0, 2 ** 31 - 1)),
      E.FLOW_CONTROL_ERROR,
    );
  });

  it("a stream window past 2^31-1 is a stream error FLOW_CONTROL_ERROR (section 6.9.1)", async () => {
    await expectStreamError((id) => windowUpdate(id, 2 ** 31 - 1), E.FLOW_CONTROL_ERROR);
  });

  it("a length other than 4 is a FRAME_SIZE_ERROR", async () => {
    await expectConnectionError(
      peer,
      (conn) => conn.write(h2Frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(5))),
      E.FRAME_SIZE_ERROR,
    );
  });

  it("WINDOW_UPDATE on an idle stream is a PROTOCOL_ERROR (section 5.1)", async () => {
    await expectConnectionError(
      peer,
      (conn, id) => conn.write(windowUpdate(id + 2, 100)),
      E.PROTOCOL_ERROR,
    );
  });

  it("the largest legal increments are taken", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    conn.write(
      windowUpdate(0, 2 ** 31 - 1 - 65_535),
      windowUpdate(req.id, 2 ** 31 - 1 - 65_535),
      h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okHeaders),
    );
    expect((await within(call.done, 2000, "the stream's end")).error).toBeUndefined();
    expect(conn.frames.some((f) => f.type === T.GOAWAY || f.type === T.RST_STREAM)).toBe(false);
  });

  it("a window made negative by SETTINGS_INITIAL_WINDOW_SIZE still lets an empty END_STREAM go (section 6.9.2)", async () => {
    client = new H2Client(peer.url);
    const p = probe();
    const stream = client.open(requestBlock(client), p.handler);
    stream.write(Buffer.alloc(100, 1));
    const conn = await peer.next();
    await conn.request();
    await conn.frame((f) => f.type === T.DATA, "the first 100 bytes");
    // The stream's window: 65,535 - 100, then 65,535 less: -100.
    conn.write(h2Frame(T.SETTINGS, 0, 0, settingsPayload([[0x4, 0]])));
    const acks = () => conn.frames.filter((f) => f.type === T.SETTINGS && f.flags & ACK).length;
    await conn.frame(() => acks() === 2, "the ACK of the second SETTINGS");
    // A DATA frame of length 0 takes no window (section 6.9.1): the half-close goes at once.
    stream.end();
    await conn.frame((f) => f.type === T.DATA && (f.flags & END_STREAM) !== 0, "END_STREAM");
    const data = conn.frames.filter((f) => f.type === T.DATA);
    expect(data.map((f) => [f.payload.length, f.flags])).toEqual([
      [100, 0],
      [0, END_STREAM],
    ]);
  });
});
