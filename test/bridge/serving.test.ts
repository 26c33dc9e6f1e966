import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as connectH2 } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport as nodeGrpcWeb } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { createServer, type ViteDevServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/bridge/cli-main.js";
import { startBridge } from "../../src/bridge/index.js";
import { etcdBridge } from "../../src/bridge/vite-plugin.js";
import { KV, Watch, WatchRequestSchema } from "../../src/gen/etcdserverpb/rpc_pb.js";
import { EtcdCluster } from "../harness/etcd.js";
import {
  dec,
  enc,
  etcdWatchStreams,
  eventually,
  fetchFrom,
  framedWatch,
  h2GrpcWebWatch,
  oneRequestStream,
} from "./helpers.js";

// The ways the bridge is served: h2c, TLS with HTTP/2, the command line, the Vite plugin.
let etcd: EtcdCluster;
let dir: string;
let ca: Buffer;
let serverTls: { cert: Buffer; key: Buffer };
beforeAll(async () => {
  etcd = await EtcdCluster.start();
  dir = mkdtempSync(join(tmpdir(), "etcd-web-bridge-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  ca = readFileSync(cert);
  serverTls = { cert: ca, key: readFileSync(key) };
});
afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rangeValue = async (transport: Parameters<typeof createClient>[1]) => {
  const kv = createClient(KV, transport);
  await kv.put({ key: enc("serving"), value: enc("yes") });
  return dec((await kv.range({ key: enc("serving") })).kvs[0]?.value);
};

describe("startBridge", () => {
  it("speaks HTTP/1.1 and h2c on one port", async () => {
    const server = await startBridge({ listen: "127.0.0.1:0", etcd: etcd.endpoints });
    try {
      for (const httpVersion of ["1.1", "2"] as const) {
        expect(await rangeValue(nodeGrpcWeb({ baseUrl: server.url, httpVersion }))).toBe("yes");
      }
    } finally {
      await server.close();
    }
  });

  it("serves HTTPS with HTTP/2 and HTTP/1.1", async () => {
    const server = await startBridge({
      listen: "127.0.0.1:0",
      etcd: etcd.endpoints,
      tls: serverTls,
    });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(
        await rangeValue(
          nodeGrpcWeb({ baseUrl: server.url, httpVersion: "2", nodeOptions: { ca } }),
        ),
      ).toBe("yes");
      expect(
        await rangeValue(
          nodeGrpcWeb({ baseUrl: server.url, httpVersion: "1.1", nodeOptions: { ca } }),
        ),
      ).toBe("yes");
    } finally {
      await server.close();
    }
  });
});

describe("cancel over HTTP/2", () => {
  // A page that aborts a watch over HTTP/2 resets its stream (RST_STREAM); node marks such a
  // response finished, so the bridge must not read "finished" as "answered".
  for (const mode of ["h2c", "TLS with ALPN h2"] as const) {
    it(`ends etcd's watch streams when a page resets them (${mode})`, async () => {
      const server = await startBridge({
        listen: "127.0.0.1:0",
        etcd: etcd.endpoints,
        tls: mode === "h2c" ? undefined : serverTls,
      });
      const session = connectH2(server.url, mode === "h2c" ? {} : { ca });
      session.on("error", () => {});
      try {
        const before = await etcdWatchStreams(etcd.endpoints);
        const watches = Array.from({ length: 10 }, (_, i) =>
          h2GrpcWebWatch(
            session,
            framedWatch(
              create(WatchRequestSchema, {
                requestUnion: { case: "createRequest", value: { key: enc(`h2cancel/${i}`) } },
              }),
            ),
          ),
        );
        for (const w of watches) expect((await w.responses.next()).value?.created).toBe(true);
        expect(await etcdWatchStreams(etcd.endpoints)).toBe(before + 10);
        for (const w of watches) w.cancel();
        const after = await eventually(
          () => etcdWatchStreams(etcd.endpoints),
          (n) => n === before,
        );
        expect(
          after,
          `etcd's watch streams after the cancel; bridge ${JSON.stringify(server.bridge.stats())}`,
        ).toBe(before);
        expect(server.bridge.stats()).toMatchObject({ openCalls: 0, openUpstreamStreams: 0 });
      } finally {
        session.destroy();
        await server.close();
      }
    });
  }
});

describe("the etcd-web-bridge command", () => {
  it("prints where it listens and serves the allowed origin", async () => {
    const out: string[] = [];
    const page = "http://localhost:5173";
    const argv = [
      "--listen",
      "127.0.0.1:0",
      "--etcd",
      etcd.endpoints[0] ?? "",
      "--allow-origin",
      page,
    ];
    const server = await runCli(argv, (line) => out.push(line));
    try {
      expect(server).toBeDefined();
      expect(out[0]).toBe(`etcd-web-bridge listening on ${server?.url}`);
      const transport = createGrpcWebTransport({
        baseUrl: server?.url ?? "",
        fetch: fetchFrom(page),
      });
      expect(await rangeValue(transport)).toBe("yes");
    } finally {
      await server?.close();
    }
  });

  it("prints the usage for --help and starts nothing", async () => {
    const out: string[] = [];
    expect(await runCli(["--help"], (line) => out.push(line))).toBeUndefined();
    expect(out.join("\n")).toMatch(/^Usage: etcd-web-bridge/);
    expect(out.join("\n")).toContain("--allow-origin");
  });
});

describe("the Vite plugin", () => {
  let vite: ViteDevServer;
  let origin: string;
  beforeAll(async () => {
    vite = await createServer({
      configFile: false,
      root: dir,
      logLevel: "silent",
      server: { host: "127.0.0.1", port: 0 },
      plugins: [etcdBridge({ etcd: etcd.endpoints })],
    });
    await vite.listen();
    origin = (vite.resolvedUrls?.local[0] ?? "").replace(/\/$/, "");
  });
  afterAll(() => vite?.close());

  it("serves etcd under /etcd to the dev server's own pages", async () => {
    const transport = createGrpcWebTransport({
      baseUrl: `${origin}/etcd`,
      fetch: fetchFrom(origin),
    });
    expect(await rangeValue(transport)).toBe("yes");
  });

  it("streams a watch, and ends it upstream when the page aborts", async () => {
    const before = await etcdWatchStreams(etcd.endpoints);
    const abort = new AbortController();
    const transport = createGrpcWebTransport({
      baseUrl: `${origin}/etcd`,
      fetch: fetchFrom(origin),
    });
    const events = oneRequestStream(
      transport,
      Watch.method.watch,
      { requestUnion: { case: "createRequest", value: { key: enc("vite") } } },
      { signal: abort.signal },
    );
    expect((await events.next()).value?.created).toBe(true);
    expect(await etcdWatchStreams(etcd.endpoints)).toBe(before + 1);
    abort.abort();
    await events.next().catch(() => undefined);
    expect(
      await eventually(
        () => etcdWatchStreams(etcd.endpoints),
        (n) => n === before,
      ),
    ).toBe(before);
  });

  it("refuses other origins and answers 404 under its prefix only", async () => {
    const other = createGrpcWebTransport({
      baseUrl: `${origin}/etcd`,
      fetch: fetchFrom("http://evil.example"),
    });
    await expect(createClient(KV, other).range({ key: enc("x") })).rejects.toThrow();
    expect((await fetch(`${origin}/etcd/nope`, { method: "POST" })).status).toBe(404);
    // Everything else is the dev server's.
    expect((await fetch(`${origin}/@vite/client`)).status).toBe(200);
  });
});
