import { cors as connectCors, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors/etcd-error.js";
import { KV } from "../gen/etcdserverpb/rpc_pb.js";
import { allowedRequestHeaders, exposedResponseHeaders, OriginPolicy } from "./cors.js";

// Headers a browser sends without a preflight allowing them (the CORS-safelisted ones).
const safelisted = new Set(["accept", "accept-language", "content-language"]);

/** The request headers connect-web's transports send for one call with a token and deadline. */
async function headersSentBy(make: typeof createGrpcWebTransport | typeof createConnectTransport) {
  const sent: string[] = [];
  const fetch: typeof globalThis.fetch = async (_url, init) => {
    new Headers(init?.headers).forEach((_v, k) => {
      sent.push(k);
    });
    throw new Error("recorded");
  };
  const kv = createClient(KV, make({ baseUrl: "http://bridge.test", fetch }));
  await kv.range({}, { timeoutMs: 1000, headers: { token: "t" } }).catch(() => undefined);
  return sent;
}

describe("allowed request headers", () => {
  it("cover what connect-web's gRPC-Web and Connect transports send", async () => {
    for (const make of [createGrpcWebTransport, createConnectTransport]) {
      const sent = (await headersSentBy(make)).filter((h) => !safelisted.has(h));
      expect(sent.length).toBeGreaterThan(2);
      expect(allowedRequestHeaders).toEqual(expect.arrayContaining(sent));
    }
  });

  it("expose every status header connect lists", () => {
    const status = connectCors.exposedHeaders
      .map((h) => h.toLowerCase())
      .filter((h) => h.startsWith("grpc-"));
    expect([...exposedResponseHeaders].sort()).toEqual(status.sort());
  });
});

describe("OriginPolicy", () => {
  it("allows the listed origins only, compared as origins", () => {
    const p = new OriginPolicy(["http://localhost:5173", "HTTPS://App.Example:443/"]);
    expect(p.allows("http://localhost:5173", "bridge:8080")).toBe(true);
    expect(p.allows("https://app.example", undefined)).toBe(true);
    expect(p.allows("http://localhost:5174", undefined)).toBe(false);
    expect(p.allows("http://evil.example", "evil.example")).toBe(false);
    expect(p.allows("null", undefined)).toBe(false);
  });

  it("allows any origin only when '*' is listed", () => {
    expect(new OriginPolicy([]).allows("http://a.example", undefined)).toBe(false);
    const any = new OriginPolicy(["*"]);
    expect(any.allows("http://a.example", undefined)).toBe(true);
    expect(any.responseHeaders("http://a.example", false)["access-control-allow-origin"]).toBe("*");
  });

  it("allows the request's own host only when asked (the Vite plugin)", () => {
    expect(new OriginPolicy([]).allows("http://localhost:5173", "localhost:5173")).toBe(false);
    const same = new OriginPolicy([], true);
    expect(same.allows("http://localhost:5173", "localhost:5173")).toBe(true);
    expect(same.allows("http://localhost:5173", "localhost:8080")).toBe(false);
  });

  it("refuses an allowOrigin that is not a bare origin", () => {
    for (const bad of [
      "localhost:5173",
      "http://a.example/path",
      "ftp://a.example",
      "http://u:p@a.example",
    ]) {
      expect(() => new OriginPolicy([bad]), bad).toThrow(InvalidInputError);
    }
  });

  it("answers a preflight with the methods, headers and max age, and varies on Origin", () => {
    const h = new OriginPolicy(["http://localhost:5173"]).responseHeaders(
      "http://localhost:5173",
      true,
    );
    expect(h).toMatchObject({
      "access-control-allow-origin": "http://localhost:5173",
      "access-control-allow-methods": "POST",
      "access-control-max-age": "7200",
      vary: "Origin",
    });
    expect(h["access-control-allow-headers"]?.split(", ")).toContain("token");
  });
});
