import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleLimitBytes, bundlePage, bundlePages, viteBundleSize } from "../../bench/bundle.js";
import { Etcd as BrowserEtcd, InvalidInputError } from "../../src/index.js";

// A browser app bundles "etcd-web" through the package's "browser" condition. That bundle
// must hold no node:* module and nothing Node-only (connect-node, ws, the bridge).
const pkg = JSON.parse(readFileSync("package.json", "utf8"));

async function bundle(entry: string) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    minify: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const code = result.outputFiles.map((f) => f.text).join("\n");
  return { inputs, code };
}

describe("browser bundle", () => {
  it("maps the package's browser condition to the browser entry", () => {
    expect(pkg.exports["."].browser).toBe("./dist/index.js");
    expect(pkg.exports["."].node).toBe("./dist/node.js");
  });

  it.each(["src/index.ts", "src/v2/index.ts"])("%s pulls in no Node module", async (entry) => {
    const { inputs, code } = await bundle(entry);
    expect(inputs.length).toBeGreaterThan(5);
    const nodeOnly = inputs.filter(
      (i) =>
        i.startsWith("node:") ||
        /connect-node|node_modules\/ws\/|src\/bridge\/|\.node\.ts$/.test(i),
    );
    expect(nodeOnly).toEqual([]);
    expect(code).not.toMatch(/["']node:[a-z]/);
    expect(gzipSync(code).length).toBeGreaterThan(1000);
  });

  it("the Node entry does pull in Node-only modules, so the check above can fail", async () => {
    const result = await build({
      entryPoints: ["src/node.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => /\.node\.ts$/.test(i))).toBe(true);
    expect(inputs.some((i) => i.includes("node_modules/ws/"))).toBe(true);
  });
});

describe("the browser entry", () => {
  it("refuses a protocol a browser cannot speak, before anything is sent", () => {
    expect(
      () => new BrowserEtcd({ endpoints: ["http://127.0.0.1:2379"], protocol: "grpc" }),
    ).toThrow(InvalidInputError);
    expect(
      () => new BrowserEtcd({ endpoints: ["http://127.0.0.1:2379"], protocol: "grpc" }),
    ).toThrow(/cannot be spoken in this runtime \(browser\)/);
  });

  it("defaults to grpc-web, and refuses autoSync through a proxy", () => {
    const etcd = new BrowserEtcd({ endpoints: ["http://127.0.0.1:8080"], health: false });
    expect(etcd.protocol).toBe("grpc-web");
    void etcd.close();
    expect(
      () => new BrowserEtcd({ endpoints: ["http://127.0.0.1:8080"], autoSyncIntervalMs: 1000 }),
    ).toThrow(/not for "grpc-web"/);
  });
});

// A page with get, put and watch, as bench/bundle.ts measures it: minified, code-split, each
// loaded file gzipped. No page loads another protocol's code.
describe.each(bundlePages)("a get+put+watch page over %s from %s", (protocol, imports, page) => {
  it("loads none of the other protocol's code", async () => {
    const { row, loadedInputs } = await bundlePage(protocol, imports, page);
    const other = protocol === "grpc-web" ? "src/transport/gateway" : "src/transport/grpc-web";
    expect(loadedInputs.some((i) => i.includes(`src/transport/${protocol}`))).toBe(true);
    expect(loadedInputs.filter((i) => i.includes(other))).toEqual([]);
    // From "etcd-web", the other protocol is a chunk the page does not load.
    if (imports === "etcd-web") expect(row.notLoadedBytes).toBeGreaterThan(1000);
    else expect(row.notLoadedBytes).toBe(0);
  });
});

// The size limit: a grpc-web page from its own entry, in one chunk (bench/bundle.ts).
describe("a get+put+watch page over grpc-web from etcd-web/grpc-web", () => {
  let result: Awaited<ReturnType<typeof bundlePage>>;
  beforeAll(async () => {
    result = await bundlePage("grpc-web", "etcd-web/grpc-web", "bench/browser/minimal-grpc-web.ts");
  });

  it("fits in the bundle limit (40 KB) gzipped", () => {
    expect(result.row.gzipBytes).toBeLessThanOrEqual(bundleLimitBytes);
  });

  it("holds no JSON or well-known-types code, nor connect-web: those are the gateway's", () => {
    const json = result.loadedInputs.filter((i) =>
      /@bufbuild\/protobuf\/dist\/esm\/(from-json|to-json|wkt\/gen\/google\/protobuf\/(struct|any|timestamp|duration)_pb)\.js$/.test(
        i,
      ),
    );
    expect(json).toEqual([]);
    expect(result.loadedInputs.filter((i) => i.includes("@connectrpc/connect-web"))).toEqual([]);
  });

  it("holds no descriptors: its messages go through the generated codecs (src/wire/)", () => {
    const reflection = result.loadedInputs.filter((i) =>
      /@bufbuild\/protobuf\/dist\/esm\/(registry|codegenv2\/boot|wkt\/gen\/google\/protobuf\/descriptor_pb|to-binary)\.js$/.test(
        i,
      ),
    );
    expect(reflection).toEqual([]);
    expect(result.loadedInputs.some((i) => i.endsWith("src/gen/etcdserverpb/rpc_codec.ts"))).toBe(
      true,
    );
  });
});

// From "etcd-web", as a Vite app builds it: the page loads the grpc-web chunk, not the
// gateway's (with its JSON code and descriptors), and fits in the same limit.
describe("a get+put+watch page over grpc-web from etcd-web, built by Vite", () => {
  it("fits in the bundle limit (40 KB) gzipped, and leaves the gateway's chunk unloaded", async () => {
    const row = await viteBundleSize(
      "grpc-web",
      "etcd-web",
      "bench/browser/minimal-lazy-grpc-web.ts",
    );
    expect(row.gzipBytes).toBeLessThanOrEqual(bundleLimitBytes);
    expect(row.gzipBytes).toBeGreaterThan(10_000);
    expect(row.notLoadedBytes).toBeGreaterThan(50_000);
  });
});
