// A fake etcd member that speaks HTTP/2 by hand (node:http2), for the bridge's specs: it records
// exactly what reached it and sends exactly the bytes a test gives it, which Connect would have
// re-encoded differently.
import { once } from "node:events";
import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import type { AddressInfo } from "node:net";

/** How the member answers one stream; request resolves with the whole request body. */
export type Answer = (stream: ServerHttp2Stream, request: Promise<Buffer>) => void;

export interface FakeEtcd {
  url: string;
  server: Http2Server;
  /** Request headers and whole bodies of each stream, and how each ended (its RST code). */
  requests: IncomingHttpHeaders[];
  bodies: Buffer[];
  resets: number[];
  /** The settings and sessions of the client's connections. */
  settings: Settings[];
  sessions: Http2Session[];
}

export async function fakeEtcd(answer: Answer): Promise<FakeEtcd> {
  const server = createServer();
  const fake: FakeEtcd = {
    url: "",
    server,
    requests: [],
    bodies: [],
    resets: [],
    settings: [],
    sessions: [],
  };
  server.on("session", (s) => {
    fake.sessions.push(s);
    s.on("remoteSettings", (st) => fake.settings.push(st));
  });
  server.on("stream", (stream, headers) => {
    fake.requests.push(headers);
    stream.on("close", () => fake.resets.push(stream.rstCode));
    stream.on("error", () => {});
    // Like etcd: read the request, then answer.
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    const request = new Promise<Buffer>((resolve) =>
      stream.on("end", () => {
        const body = Buffer.concat(chunks);
        fake.bodies.push(body);
        resolve(body);
      }),
    );
    answer(stream, request);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** One gRPC (and gRPC-Web) message: a flag byte, a big-endian length, the bytes. */
export function frame(bytes: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
