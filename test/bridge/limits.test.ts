import { once } from "node:events";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { type ClientHttp2Session, connect as connectH2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "../harness/etcd.js";
import { within } from "../harness/wait.js";
import { bridgeStarter, enc, framedWatch, h2GrpcWebWatch } from "./helpers.js";

// What one client may make the bridge hold: request bytes, time, connections, streams, watches.
let etcd: EtcdCluster;
const bridges = bridgeStarter(() => etcd.endpoints);
const bridgeWith = bridges.start;
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await bridges.closeAll();
  await etcd?.stop();
});

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("latin1");
}

/** Starts a POST that announces `announced` bytes and sends only the first MiB of them. */
function partialUpload(
  url: string,
  headers: Record<string, string>,
  first: Buffer,
): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request(url, { method: "POST", headers });
  req.on("error", () => {});
  req.write(first);
  req.write(Buffer.alloc(1 << 20));
  return { req, response: once(req, "response").then(([res]) => res as IncomingMessage) };
}

describe("request size", () => {
  it("refuses a gRPC-Web Put that announces 64 MiB after its first MiB", async () => {
    const b = await bridgeWith();
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(64 << 20, 1);
    const { req, response } = partialUpload(
      `${b.url}/etcdserverpb.KV/Put`,
      { "content-type": "application/grpc-web+proto" },
      prefix,
    );
    try {
      // The rest of the 64 MiB is never sent: an answer proves the bridge did not wait for it.
      const res = await within(response, 10_000, "no answer to the oversized request");
      const body = decodeURIComponent(await text(res));
      expect(body).toContain("grpc-status: 8");
      expect(body).toContain("--max-request-bytes");
    } finally {
      req.destroy();
    }
  });

  it("refuses a connect+proto call that announces 256 MiB after its first MiB", async () => {
    const b = await bridgeWith();
    const { req, response } = partialUpload(
      `${b.url}/etcdserverpb.KV/Put`,
      { "content-type": "application/proto", "content-length": String(256 << 20) },
      Buffer.alloc(0),
    );
    try {
      const res = await within(response, 10_000, "no answer to the oversized request");
      expect(JSON.parse(await text(res))).toMatchObject({ code: "resource_exhausted" });
    } finally {
      req.destroy();
    }
  });
});

describe("slow clients", () => {
  it("drops an HTTP/1.1 connection whose headers do not arrive in time", async () => {
    const b = await bridgeWith({ headersTimeoutMs: 300 });
    const socket: Socket = connectTcp(Number(new URL(b.url).port), "127.0.0.1");
    socket.on("error", () => {});
    await once(socket, "connect");
    socket.write("POST /etcdserverpb.KV/Range HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: ");
    await within(once(socket, "close"), 10_000, "the slow-header connection was not dropped");
    expect(socket.destroyed).toBe(true);
  });

  it("drops a request whose body does not arrive in time", async () => {
    const b = await bridgeWith({ requestTimeoutMs: 300 });
    const req = request(`${b.url}/etcdserverpb.KV/Range`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "content-length": "100" },
    });
    req.on("error", () => {});
    req.write(Buffer.from([0, 0, 0, 0, 95]));
    const closed = once(req, "close");
    await within(closed, 10_000, "the slow-body request was not dropped");
    expect(req.destroyed).toBe(true);
  });

  it("closes an HTTP/2 connection that sent only its preface", async () => {
    const b = await bridgeWith({ idleTimeoutMs: 300 });
    const session = connectH2(b.url);
    session.on("error", () => {});
    await within(once(session, "close"), 10_000, "the idle HTTP/2 session was not closed");
    expect(session.destroyed).toBe(true);
  });
});

describe("connections and streams", () => {
  const watchBody = (keys: string[]) =>
    framedWatch(
      ...keys.map((k, i) =>
        create(WatchRequestSchema, {
          requestUnion: { case: "createRequest", value: { key: enc(k), watchId: BigInt(i + 1) } },
        }),
      ),
    );

  it("advertises 100 concurrent streams per HTTP/2 connection", async () => {
    const b = await bridgeWith();
    const session = connectH2(b.url);
    session.on("error", () => {});
    try {
      const [settings] = await within(once(session, "remoteSettings"), 10_000, "no SETTINGS");
      expect(settings.maxConcurrentStreams).toBe(100);
    } finally {
      session.destroy();
    }
  });

  it("caps the watches of one connection, counting each create of a body", async () => {
    const b = await bridgeWith({ maxWatchesPerConnection: 3 });
    const sessions: ClientHttp2Session[] = [connectH2(b.url), connectH2(b.url)];
    for (const s of sessions) s.on("error", () => {});
    try {
      const first = h2GrpcWebWatch(sessions[0] as ClientHttp2Session, watchBody(["c/1", "c/2"]));
      for (let i = 0; i < 2; i++) expect((await first.responses.next()).value?.created).toBe(true);
      const over = h2GrpcWebWatch(sessions[0] as ClientHttp2Session, watchBody(["c/3", "c/4"]));
      const refused = await over.responses.next().catch((e: unknown) => String(e));
      expect(decodeURIComponent(String(refused))).toContain(
        "the limit is 3 (--max-watches-per-connection)",
      );
      // Another connection has its own count.
      const other = h2GrpcWebWatch(sessions[1] as ClientHttp2Session, watchBody(["c/3", "c/4"]));
      for (let i = 0; i < 2; i++) expect((await other.responses.next()).value?.created).toBe(true);
      // A cancelled watch gives its count back.
      first.cancel();
      await expect.poll(() => b.bridge.stats().openUpstreamStreams, { timeout: 10_000 }).toBe(1);
      const again = h2GrpcWebWatch(sessions[0] as ClientHttp2Session, watchBody(["c/5", "c/6"]));
      for (let i = 0; i < 2; i++) expect((await again.responses.next()).value?.created).toBe(true);
    } finally {
      for (const s of sessions) s.destroy();
    }
  });

  it("closes connections past maxConnections", async () => {
    const b = await bridgeWith({ maxConnections: 2 });
    const sessions = [connectH2(b.url), connectH2(b.url)];
    for (const s of sessions) s.on("error", () => {});
    try {
      for (const s of sessions) await within(once(s, "remoteSettings"), 10_000, "no SETTINGS");
      const third = connectH2(b.url);
      third.on("error", () => {});
      await within(once(third, "close"), 10_000, "the third connection was not closed");
      expect(third.destroyed).toBe(true);
      expect(sessions.every((s) => !s.destroyed)).toBe(true);
    } finally {
      for (const s of sessions) s.destroy();
    }
  });
});
