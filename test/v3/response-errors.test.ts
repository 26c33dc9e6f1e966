import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterError, Etcd, type Protocol, ResponseError } from "../../src/node.js";

// Answers that are not etcd's, as a misconfigured proxy gives them. This server stands in for
// the proxy, not for etcd: every case here is one etcd never produces.
function grpcWebFrame(flag: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flag, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const answers: Record<string, { type: string; status: number; body: Buffer }> = {
  html: {
    type: "text/html",
    status: 502,
    body: Buffer.from("<html><h1>502 Bad Gateway</h1></html>"),
  },
  "grpc-web-garbage": {
    type: "application/grpc-web+proto",
    status: 200,
    body: Buffer.concat([
      grpcWebFrame(0, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])),
      grpcWebFrame(0x80, Buffer.from("grpc-status: 0\r\n")),
    ]),
  },
  // An empty RangeResponse: valid protobuf, but etcd always sends a header.
  "grpc-web-no-header": {
    type: "application/grpc-web+proto",
    status: 200,
    body: Buffer.concat([
      grpcWebFrame(0, new Uint8Array()),
      grpcWebFrame(0x80, Buffer.from("grpc-status: 0\r\n")),
    ]),
  },
  "gateway-garbage": { type: "application/json", status: 200, body: Buffer.from("{not json") },
  "gateway-no-header": { type: "application/json", status: 200, body: Buffer.from("{}") },
};

let server: Server;
let base = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    const kind = req.url?.split("/")[1] ?? "";
    const a = answers[kind];
    req.resume();
    if (!a) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(a.status, { "content-type": a.type }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function responseError(protocol: Protocol, kind: string): Promise<ResponseError> {
  const client = new Etcd({
    endpoints: [`${base}/${kind}`],
    protocol,
    health: false,
    retry: { maxAttempts: 1 },
  });
  try {
    const err = await client.get("k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    const inner = (err as ClusterError).errors[0]?.error;
    expect(inner).toBeInstanceOf(ResponseError);
    return inner as ResponseError;
  } finally {
    await client.close();
  }
}

describe.each(["grpc-web", "gateway"] as Protocol[])("ResponseError over %s", (protocol) => {
  it("for an HTML error page from a proxy, naming status and content type", async () => {
    const e = await responseError(protocol, "html");
    expect(e.status).toBe(502);
    expect(e.contentType).toBe("text/html");
  });

  it("for a body that does not decode", async () => {
    const e = await responseError(protocol, `${protocol}-garbage`);
    expect(e.kind).toBe("response");
  });

  it("for a response without etcd's header", async () => {
    const e = await responseError(protocol, `${protocol}-no-header`);
    expect(e.message).toMatch(/no header/);
  });
});
