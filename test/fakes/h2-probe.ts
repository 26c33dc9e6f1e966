// The client's side of the raw-peer specs: a stream whose handler records what it heard, and a
// deadline on every wait, so that a spec fails with a message instead of hanging.
import { expect } from "vitest";
import { H2Client } from "../../src/transport/grpc/h2-client.node.js";
import type { StreamHandler } from "../../src/transport/grpc/h2-stream.node.js";
import { encodeHeaders, type HeaderField } from "../../src/transport/grpc/hpack.node.js";
import { within } from "../harness/wait.js";
import { goAwayCode, type RawH2Connection, type RawH2Peer } from "./raw-h2-peer.js";

export { within };

export interface Heard {
  headers: HeaderField[][];
  body: Buffer[];
  error?: Error & { code?: string };
  rstCode?: number;
}

export interface Probe {
  handler: StreamHandler;
  heard: Heard;
  /** Resolves when the stream ended, however it ended. */
  done: Promise<Heard>;
}

export function probe(): Probe {
  const heard: Heard = { headers: [], body: [] };
  let resolve: (h: Heard) => void = () => {};
  const done = new Promise<Heard>((r) => {
    resolve = r;
  });
  return {
    heard,
    done,
    handler: {
      onHeaders: (fields) => heard.headers.push(fields),
      onData: (data) => heard.body.push(Buffer.from(data)),
      onEnd: (error, rstCode) => {
        if (error) heard.error = error;
        if (rstCode !== undefined) heard.rstCode = rstCode;
        resolve(heard);
      },
    },
  };
}

export function requestBlock(c: H2Client, path = "/etcdserverpb.KV/Range"): Buffer {
  return encodeHeaders([
    [":method", "POST"],
    [":scheme", c.scheme],
    [":path", path],
    [":authority", c.authority],
    ["content-type", "application/grpc"],
  ]);
}

/** Opens a stream and half-closes it, as a unary call without a body does. */
export function openStream(c: H2Client): Probe {
  const p = probe();
  c.open(requestBlock(c), p.handler).end();
  return p;
}

/**
 * Opens a stream on a fresh connection of `peer`, lets `misbehave` write to it once the request
 * arrived, and checks that the client answers with GOAWAY(code), fails the stream and closes.
 */
export async function expectConnectionError(
  peer: RawH2Peer,
  misbehave: (conn: RawH2Connection, streamId: number) => void,
  code: number,
): Promise<H2Client> {
  const client = new H2Client(peer.url);
  try {
    const call = openStream(client);
    const conn = await peer.next();
    const req = await conn.request();
    misbehave(conn, req.id);
    const goAway = await conn.goAway();
    expect(goAwayCode(goAway), "GOAWAY's error code").toBe(code);
    const heard = await within(call.done, 2000, "the stream's end");
    expect(heard.error?.code).toBe("ERR_HTTP2_ERROR");
    await conn.whenClosed();
  } finally {
    client.close();
  }
  return client;
}
