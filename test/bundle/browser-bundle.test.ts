import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
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
