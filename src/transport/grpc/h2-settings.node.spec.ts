import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openStream, within } from "../../../test/fakes/h2-probe.js";
import {
  ACK,
  E,
  END_HEADERS,
  END_STREAM,
  goAwayCode,
  h2Frame,
  okHeaders,
  okTrailers,
  RawH2Peer,
  readSettings,
  settingsPayload,
  T,
  u32,
} from "../../../test/fakes/raw-h2-peer.js";
import { unprocessedCode } from "../../internal/causes.js";
import { H2Client } from "./h2-client.node.js";
import { SettingId } from "./h2-settings.node.js";

// SETTINGS from a server, checked as RFC 9113 section 6.5 says: a bad value or a bad frame is
// a connection error of the named type, and no stream is left open.

const ID = SettingId;

let peer: RawH2Peer;
let client: H2Client | undefined;

beforeAll(async () => {
  peer = await RawH2Peer.start({ settings: null });
});
afterAll(() => peer.close());
afterEach(() => {
  client?.close();
  client = undefined;
  peer.dropAll();
});

/** The server's first SETTINGS is `frame`; the client must answer with GOAWAY(code). */
async function refuses(frame: Buffer, code: number): Promise<void> {
  client = new H2Client(peer.url);
  const call = openStream(client);
  const conn = await peer.next();
  conn.write(frame);
  const goAway = await conn.goAway();
  expect(goAwayCode(goAway)).toBe(code);
  const heard = await within(call.done, 2000, "the stream's end");
  // The stream waited for the server's SETTINGS, so it never started: safe to send elsewhere.
  expect(heard.error?.code).toBe(unprocessedCode);
  expect((heard.error?.cause as { code?: string } | undefined)?.code).toBe("ERR_HTTP2_ERROR");
  await conn.whenClosed();
}

const settings = (entries: Array<[number, number]>) =>
  h2Frame(T.SETTINGS, 0, 0, settingsPayload(entries));

describe("SETTINGS from the server (RFC 9113 section 6.5.2)", { timeout: 5000 }, () => {
  it("SETTINGS_MAX_FRAME_SIZE of 0 is a PROTOCOL_ERROR (it once looped forever)", async () => {
    await refuses(settings([[ID.MAX_FRAME_SIZE, 0]]), E.PROTOCOL_ERROR);
  });

  it("SETTINGS_MAX_FRAME_SIZE below 2^14 is a PROTOCOL_ERROR", async () => {
    await refuses(settings([[ID.MAX_FRAME_SIZE, 2 ** 14 - 1]]), E.PROTOCOL_ERROR);
  });

  it("SETTINGS_MAX_FRAME_SIZE above 2^24-1 is a PROTOCOL_ERROR", async () => {
    await refuses(settings([[ID.MAX_FRAME_SIZE, 2 ** 24]]), E.PROTOCOL_ERROR);
  });

  it("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a FLOW_CONTROL_ERROR", async () => {
    await refuses(settings([[ID.INITIAL_WINDOW_SIZE, 2 ** 31]]), E.FLOW_CONTROL_ERROR);
  });

  it("SETTINGS_ENABLE_PUSH of 1 from a server is a PROTOCOL_ERROR", async () => {
    await refuses(settings([[ID.ENABLE_PUSH, 1]]), E.PROTOCOL_ERROR);
  });

  it("SETTINGS_ENABLE_PUSH other than 0 or 1 is a PROTOCOL_ERROR", async () => {
    await refuses(settings([[ID.ENABLE_PUSH, 2]]), E.PROTOCOL_ERROR);
  });

  it("a SETTINGS length that is not a multiple of 6 is a FRAME_SIZE_ERROR (section 6.5)", async () => {
    await refuses(h2Frame(T.SETTINGS, 0, 0, Buffer.alloc(7)), E.FRAME_SIZE_ERROR);
  });

  it("SETTINGS on a stream other than 0 is a PROTOCOL_ERROR (section 6.5)", async () => {
    await refuses(h2Frame(T.SETTINGS, 0, 1, Buffer.alloc(0)), E.PROTOCOL_ERROR);
  });

  it("a SETTINGS ACK with a payload is a FRAME_SIZE_ERROR (section 6.5)", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    conn.write(settings([]));
    await conn.request();
    conn.write(h2Frame(T.SETTINGS, ACK, 0, Buffer.alloc(6)));
    expect(goAwayCode(await conn.goAway())).toBe(E.FRAME_SIZE_ERROR);
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error?.code).toBe("ERR_HTTP2_ERROR");
  });

  it("a first frame other than SETTINGS is a PROTOCOL_ERROR (section 3.4)", async () => {
    await refuses(h2Frame(T.PING, 0, 0, Buffer.alloc(8)), E.PROTOCOL_ERROR);
  });

  it("an INITIAL_WINDOW_SIZE that takes an open stream's window past 2^31-1 is a FLOW_CONTROL_ERROR (section 6.9.2)", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    conn.write(settings([]));
    const req = await conn.request();
    // The stream's window: 65,535 + (2^31-1 - 65,535) = 2^31-1; then the setting adds 1.
    conn.write(h2Frame(T.WINDOW_UPDATE, 0, req.id, u32(2 ** 31 - 1 - 65_535)));
    conn.write(settings([[ID.INITIAL_WINDOW_SIZE, 65_536]]));
    expect(goAwayCode(await conn.goAway())).toBe(E.FLOW_CONTROL_ERROR);
    expect((await within(call.done, 2000, "the stream's end")).error).toBeDefined();
  });

  it("takes every valid value, unknown settings included, and splits headers by the peer's MAX_FRAME_SIZE", async () => {
    client = new H2Client(peer.url);
    const call = openStream(client);
    const conn = await peer.next();
    conn.write(
      settings([
        [ID.HEADER_TABLE_SIZE, 0],
        [ID.ENABLE_PUSH, 0],
        [ID.MAX_CONCURRENT_STREAMS, 10],
        [ID.INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
        [ID.MAX_FRAME_SIZE, 2 ** 24 - 1],
        [ID.MAX_HEADER_LIST_SIZE, 100],
        [0x99, 12345],
      ]),
    );
    const req = await conn.request();
    conn.write(
      h2Frame(T.HEADERS, END_HEADERS, req.id, okHeaders),
      h2Frame(T.HEADERS, END_HEADERS | END_STREAM, req.id, okTrailers),
    );
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error).toBeUndefined();
    expect(heard.headers[1]).toEqual([["grpc-status", "0"]]);
    expect(conn.frames.some((f) => f.type === T.GOAWAY)).toBe(false);
  });
});

describe("what the client advertises (RFC 9113 section 6.5.2, RFC 7541 section 4.2)", {
  timeout: 5000,
}, () => {
  it("announces SETTINGS_MAX_HEADER_LIST_SIZE of 64 KiB, no push, and its windows", async () => {
    client = new H2Client(peer.url);
    openStream(client);
    const conn = await peer.next();
    conn.write(settings([]));
    const s = readSettings(await conn.frame((f) => f.type === T.SETTINGS, "SETTINGS"));
    expect(s.get(ID.MAX_HEADER_LIST_SIZE)).toBe(65_536);
    expect(s.get(ID.ENABLE_PUSH)).toBe(0);
    expect(s.get(ID.INITIAL_WINDOW_SIZE)).toBe(4 << 20);
  });
});
