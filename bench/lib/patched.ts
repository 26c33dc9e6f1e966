// etcd-web with the proposed patches (bench/patches/*.diff) applied to a copy of src/, bundled
// and loaded next to the current code, so that one run measures both. The copy lives under
// node_modules/.cache, outside what lint, typecheck and tests look at.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Transport } from "@connectrpc/connect";
import { build } from "esbuild";
import type { EtcdClient, EtcdOptions } from "../../src/v3/client.js";

export interface Patched {
  /** The patched Etcd class (the Node entry). */
  Etcd: new (
    options: EtcdOptions,
  ) => EtcdClient;
  /** The patched grpc transport alone, for calls without the client around it. */
  grpcTransport: (s: { baseUrl: string }) => { transport: Transport; close(): void };
  patches: string[];
}

/** Applies every patch in bench/patches, or only those whose names start with one of `only`. */
export async function loadPatched(
  root: string,
  only?: readonly string[],
): Promise<Patched | { error: string }> {
  const dir = join(root, "bench", "patches");
  const patches = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.endsWith(".diff") && (!only || only.some((o) => f.startsWith(o))))
    .sort();
  if (patches.length === 0) return { error: "no patch in bench/patches" };
  const name = only ? `patched-${only.join("-")}` : "patched";
  const out = join(root, "node_modules", ".cache", "etcd-web", name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(root, "src"), join(out, "src"), { recursive: true });
  // Patches may touch tests too.
  cpSync(join(root, "test"), join(out, "test"), { recursive: true });
  try {
    for (const p of patches) {
      execFileSync(
        "patch",
        ["-p1", "--forward", "--batch", "--silent", "-d", out, "-i", join(dir, p)],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    }
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    return {
      error: `a patch no longer applies to src/: ${(err.stdout?.toString() || err.stderr?.toString() || err.message).trim().split("\n").slice(0, 3).join("; ")}`,
    };
  }
  await build({
    entryPoints: {
      node: join(out, "src", "node.ts"),
      grpc: join(out, "src", "transport", "grpc.node.ts"),
    },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outdir: join(out, "dist"),
    logLevel: "warning",
  });
  const node = (await import(pathToFileURL(join(out, "dist", "node.js")).href)) as {
    Etcd: Patched["Etcd"];
  };
  const grpc = (await import(pathToFileURL(join(out, "dist", "grpc.js")).href)) as {
    grpcTransport: Patched["grpcTransport"];
  };
  return { Etcd: node.Etcd, grpcTransport: grpc.grpcTransport, patches };
}
