import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtPackage } from "./built-package.js";

// The package as a user installs it: packed with `npm pack`, installed from the tarball into a
// new project with `npm install` (the registry serves its dependencies), on this Node (20).

const work = mkdtempSync(join(tmpdir(), "etcd-web-pack-"));
const app = join(work, "app");
let tarball = "";
let files: string[] = [];
let install = { status: 0 as number | null, output: "" };

beforeAll(async () => {
  const root = await builtPackage();
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
      cwd: root,
      encoding: "utf8",
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed[0]?.filename ?? "");
  files = packed[0]?.files.map((f) => f.path) ?? [];
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }),
  );
  const r = spawnSync("npm", ["install", tarball, "--no-audit", "--no-fund"], {
    cwd: app,
    encoding: "utf8",
  });
  install = { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed package", () => {
  it("holds the license, and every file the README and docs link to", () => {
    expect(files).toContain("LICENSE");
    expect(readFileSync("LICENSE", "utf8")).toContain("Apache License");
    expect(readFileSync("LICENSE", "utf8")).toContain("Version 2.0, January 2004");
    const docs = ["README.md", ...files.filter((f) => /^docs\/.*\.md$/.test(f))];
    expect(docs.length).toBeGreaterThan(3);
    const links = docs.flatMap((doc) =>
      [...readFileSync(doc, "utf8").matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1] ?? "")
        .filter((l) => !/^[a-z]+:/.test(l))
        .map((l) => normalize(join(dirname(doc), l))),
    );
    expect(links).toContain("bench/RESULTS.md");
    expect(links.filter((l) => !files.includes(l))).toEqual([]);
  });

  it("ships source maps that carry their sources", () => {
    const maps = files.filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(50);
    const unreadable = maps.filter((f) => {
      const m = JSON.parse(readFileSync(join("dist", f.slice("dist/".length)), "utf8"));
      return (
        !Array.isArray(m.sourcesContent) ||
        m.sourcesContent.length !== m.sources.length ||
        m.sourcesContent.some((s: unknown) => typeof s !== "string" || s === "")
      );
    });
    expect(unreadable).toEqual([]);
  });

  it("installs on Node 20 without an engine warning, and without connect-node or ws", () => {
    expect(process.versions.node.split(".")[0]).toBe("20");
    expect(install.status, install.output).toBe(0);
    expect(install.output).not.toMatch(/EBADENGINE/);
    const modules = join(app, "node_modules");
    expect(existsSync(join(modules, "etcd-web", "dist", "index.js"))).toBe(true);
    // What a browser app installs: the core, no Node-only package.
    for (const nodeOnly of ["@connectrpc/connect-node", "@connectrpc/connect-web", "ws"]) {
      expect(existsSync(join(modules, nodeOnly)), nodeOnly).toBe(false);
    }
  });

  it("runs in Node without them, and says what to install when a feature needs one", () => {
    writeFileSync(
      join(app, "smoke.mjs"),
      `import { Etcd, InvalidInputError } from "etcd-web";
import { Etcd as GatewayEtcd } from "etcd-web/gateway";
import { Etcd as GrpcWebEtcd } from "etcd-web/grpc-web";
const e = new Etcd({ endpoints: ["http://127.0.0.1:1"], grpcClient: "connect-node", health: false, retry: { maxAttempts: 1 } });
const err = await e.get("k").catch((x) => x);
await e.close();
const g = new GatewayEtcd({ endpoints: ["http://127.0.0.1:1"], health: false });
const w = new GrpcWebEtcd({ endpoints: ["http://127.0.0.1:1"], health: false });
console.log(JSON.stringify([err instanceof InvalidInputError, err.message, e.protocol, g.protocol, w.protocol]));
await g.close();
await w.close();
`,
    );
    const out = execFileSync(process.execPath, ["smoke.mjs"], { cwd: app, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual([
      true,
      'grpcClient "connect-node" needs the package @connectrpc/connect-node, which is not installed: npm install @connectrpc/connect-node@2.2.0',
      "grpc",
      "gateway",
      "grpc-web",
    ]);
    const bridge = spawnSync(
      process.execPath,
      [join(app, "node_modules", "etcd-web", "dist", "bridge", "cli.js"), "--help"],
      { encoding: "utf8" },
    );
    expect(bridge.status).toBe(1);
    expect(bridge.stderr).toContain(
      "etcd-web-bridge needs the package @connectrpc/connect-node, which is not installed: npm install @connectrpc/connect-node@2.2.0",
    );
  });
});
