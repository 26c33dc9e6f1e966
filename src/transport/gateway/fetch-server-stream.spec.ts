import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResponseError } from "../../errors/etcd-error.js";
import { Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";
import { createGatewayTransport } from "./gateway-transport.js";
import type { FetchFn } from "./http-post.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** A streamed answer cut into the given chunks, as the network may cut it. */
function streamed(chunks: Uint8Array[], init: ResponseInit = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  return new Response(body, { headers: { "content-type": "application/json" }, ...init });
}

function snapshotOver(answer: () => Response, sent: string[] = []) {
  const fetch: FetchFn = async (url, init) => {
    sent.push(`${url} ${String(init.body)}`);
    return answer();
  };
  return createClient(Maintenance, createGatewayTransport({ baseUrl: "http://etcd:2379", fetch }));
}

async function collect<T>(stream: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of stream) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items };
}

const base64 = (s: string) => btoa(String.fromCharCode(...enc(s)));
const line = (blob: string, remaining: number, version = "") =>
  `${JSON.stringify({ result: { blob: base64(blob), remaining_bytes: String(remaining), version } })}\n`;

describe("server streams over POST", () => {
  it("POSTs several request messages one JSON a line (several watches in one POST /v3/watch)", async () => {
    const sent: string[] = [];
    const fetch: FetchFn = async (url, init) => {
      sent.push(`${url} ${String(init.body)}`);
      return streamed([
        enc(`${JSON.stringify({ result: { watch_id: "1", created: true } })}\n`),
        enc(`${JSON.stringify({ result: { watch_id: "2", created: true } })}\n`),
      ]);
    };
    const transport = createGatewayTransport({ baseUrl: "http://etcd:2379", fetch });
    async function* creates() {
      yield {
        requestUnion: { case: "createRequest" as const, value: { key: enc("a"), watchId: 1n } },
      };
      yield {
        requestUnion: { case: "createRequest" as const, value: { key: enc("b"), watchId: 2n } },
      };
    }
    // Watch in its server-streaming form, as connect-transport.ts hands it to the gateway.
    const method = { ...Watch.method.watch, methodKind: "server_streaming" } as const;
    const res = await transport.stream(method, undefined, undefined, undefined, creates());
    const { items, error } = await collect(res.message);
    expect(error).toBeUndefined();
    expect(items.map((m) => m.watchId)).toEqual([1n, 2n]);
    expect(sent).toEqual([
      'http://etcd:2379/v3/watch {"create_request":{"key":"YQ==","watch_id":"1"}}\n' +
        '{"create_request":{"key":"Yg==","watch_id":"2"}}',
    ]);
  });

  it("POSTs the one request and reads one message a line, however the body is cut", async () => {
    const text = line("héllo ", 6) + line("wörld", 0, "3.6.ü");
    const bytes = enc(text);
    // Cut inside a line, between lines, and inside the two bytes of "ü".
    const cuts = [5, enc(text.slice(0, text.indexOf("\n") + 1)).length, bytes.indexOf(0xc3) + 1];
    const chunks = [0, ...cuts].map((start, i) => bytes.slice(start, cuts[i] ?? bytes.length));
    const sent: string[] = [];
    const { items, error } = await collect(snapshotOver(() => streamed(chunks), sent).snapshot({}));
    expect(error).toBeUndefined();
    expect(sent).toEqual(["http://etcd:2379/v3/maintenance/snapshot {}"]);
    expect(items.map((m) => dec(m.blob))).toEqual(["héllo ", "wörld"]);
    expect(items.map((m) => m.remainingBytes)).toEqual([6n, 0n]);
    expect(items[1]?.version).toBe("3.6.ü");
  });

  it("reads a last line without a newline, and skips blank lines", async () => {
    const body = `\n${line("a", 1)}\n${line("b", 0).trim()}`;
    const { items } = await collect(snapshotOver(() => streamed([enc(body)])).snapshot({}));
    expect(items.map((m) => dec(m.blob))).toEqual(["a", "b"]);
  });

  it("throws an error message in the stream as etcd's status, after the messages before it", async () => {
    const error = { error: { grpc_code: 14, http_code: 503, message: "etcdserver: no leader" } };
    const body = line("a", 1) + JSON.stringify(error);
    const got = await collect(snapshotOver(() => streamed([enc(body)])).snapshot({}));
    expect(got.items).toHaveLength(1);
    expect(got.error).toBeInstanceOf(ConnectError);
    expect(got.error).toMatchObject({
      code: Code.Unavailable,
      rawMessage: "etcdserver: no leader",
    });
  });

  it("throws an error answer before any message as etcd's status", async () => {
    // As etcd 3.4 answers a snapshot without a token when auth is on.
    const body = JSON.stringify({
      error: {
        grpc_code: 2,
        http_code: 500,
        message: "auth: user name is empty",
        http_status: "Internal Server Error",
      },
    });
    const got = await collect(
      snapshotOver(() => streamed([enc(body)], { status: 500 })).snapshot({}),
    );
    expect(got.error).toMatchObject({ code: Code.Unknown, rawMessage: "auth: user name is empty" });
  });

  it.each([
    ["a line that is not JSON", `${line("a", 1)}<html>\n`],
    ["a line with neither result nor error", `${JSON.stringify({ header: {} })}\n`],
  ])("throws a ResponseError for %s", async (_, body) => {
    const got = await collect(snapshotOver(() => streamed([enc(body)])).snapshot({}));
    expect(got.error).toBeInstanceOf(ResponseError);
  });

  it("throws a ResponseError for an HTML answer", async () => {
    const html = new Response("<html>", { status: 200, headers: { "content-type": "text/html" } });
    const got = await collect(snapshotOver(() => html).snapshot({}));
    expect(got.error).toBeInstanceOf(ResponseError);
    expect(got.error).toMatchObject({ status: 200, contentType: "text/html" });
  });

  it("is Canceled when the signal fires mid-stream", async () => {
    const ac = new AbortController();
    const fetch: FetchFn = async (_url, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc(line("a", 1)));
          init.signal?.addEventListener("abort", () => c.error(init.signal?.reason));
        },
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    };
    const maintenance = createClient(
      Maintenance,
      createGatewayTransport({ baseUrl: "http://etcd:2379", fetch }),
    );
    const it = maintenance.snapshot({}, { signal: ac.signal })[Symbol.asyncIterator]();
    expect(dec((await it.next()).value?.blob)).toBe("a");
    const pending = it.next();
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: Code.Canceled });
  });
});
