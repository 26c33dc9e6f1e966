// Section 5: the gzip size of a minimal browser app (get, put, watch) per protocol and entry.
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { build as viteBuild } from "vite";

export interface BundleRow {
  protocol: "grpc-web" | "gateway";
  /** What built the page, as a production build would. */
  bundler: "esbuild" | "vite";
  /** The package entry the app imports: "etcd-web/grpc-web", "etcd-web/gateway" or "etcd-web". */
  imports: string;
  entry: string;
  /** What the page loads: its entry chunk and every chunk it imports, its protocol's included. */
  minifiedBytes: number;
  /** The same files, each gzipped as a server would send it. */
  gzipBytes: number;
  /** The other protocol's chunks, which the page never loads. */
  notLoadedBytes: number;
  /** The largest inputs of the loaded files, by bytes in the minified output. */
  largest: Array<{ input: string; bytes: number }>;
}

/** The transport file of each protocol; the chunk that holds it is loaded on first use. */
const protocolFile: Record<BundleRow["protocol"], string> = {
  "grpc-web": "src/transport/grpc-web.ts",
  gateway: "src/transport/gateway.ts",
};

/**
 * Bundles the app as a production build does (minified, code-split: each protocol is a chunk
 * loaded by dynamic import) and sums what a page on `protocol` loads.
 */
export async function bundleSize(
  protocol: BundleRow["protocol"],
  imports: string,
  entry: string,
): Promise<BundleRow> {
  return (await bundlePage(protocol, imports, entry)).row;
}

/** bundleSize's row, and the source files in what the page loads. */
export async function bundlePage(
  protocol: BundleRow["protocol"],
  imports: string,
  entry: string,
): Promise<{ row: BundleRow; loadedInputs: string[] }> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    outdir: "bundle-out",
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "warning",
  });
  const loaded = loadedOutputs(out.metafile, protocolFile[protocol]);
  const byPackage = new Map<string, number>();
  const loadedInputs: string[] = [];
  let minifiedBytes = 0;
  let gzipBytes = 0;
  let notLoadedBytes = 0;
  for (const file of out.outputFiles) {
    const key = Object.keys(out.metafile.outputs).find((k) => file.path.endsWith(k));
    if (!key || !loaded.has(key)) {
      notLoadedBytes += file.contents.length;
      continue;
    }
    minifiedBytes += file.contents.length;
    gzipBytes += gzipSync(file.contents, { level: 9 }).length;
    for (const [input, { bytesInOutput }] of Object.entries(
      out.metafile.outputs[key]?.inputs ?? {},
    )) {
      loadedInputs.push(input);
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = m?.[1] ?? input.replace(/^(src\/[^/]+)\/.*/, "$1/");
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  const row: BundleRow = {
    protocol,
    bundler: "esbuild",
    imports,
    entry,
    minifiedBytes,
    gzipBytes,
    notLoadedBytes,
    largest: [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([input, b]) => ({ input, bytes: b })),
  };
  return { row, loadedInputs };
}

/**
 * The output files a page loads: the entry's, what they import statically, and the chunk
 * dynamically imported for the protocol it speaks (with what that imports).
 */
export function loadedOutputs(meta: Metafile, protocolInput: string): Set<string> {
  const outputs = meta.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k]?.entryPoint !== undefined);
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const i of outputs[file]?.imports ?? []) {
      if (i.external) continue;
      const target = outputs[i.path];
      if (i.kind !== "dynamic-import") visit(i.path);
      else if (target && Object.keys(target.inputs).some((k) => k.endsWith(protocolInput))) {
        visit(i.path);
      }
    }
  };
  if (entry) visit(entry);
  return loaded;
}

/**
 * The same page built by Vite (`vite build`, Rolldown), which most web apps use: it splits
 * chunks by what each entry uses, where esbuild's splitting puts code that both protocols'
 * chunks reach in a chunk the page loads whichever protocol it speaks.
 */
export async function viteBundleSize(
  protocol: BundleRow["protocol"],
  imports: string,
  entry: string,
): Promise<BundleRow> {
  const result = await viteBuild({
    configFile: false,
    logLevel: "silent",
    build: { write: false, minify: true, target: "es2022", rollupOptions: { input: entry } },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) =>
    "output" in r ? r.output : [],
  );
  const chunks = new Map(
    outputs.flatMap((o) => (o.type === "chunk" ? [[o.fileName, o] as const] : [])),
  );
  const loaded = new Set<string>();
  const visit = (name: string) => {
    const chunk = chunks.get(name);
    if (!chunk || loaded.has(name)) return;
    loaded.add(name);
    for (const i of chunk.imports) visit(i);
    for (const d of chunk.dynamicImports) {
      if (chunks.get(d)?.moduleIds.some((m) => m.endsWith(protocolFile[protocol]))) visit(d);
    }
  };
  for (const [name, chunk] of chunks) if (chunk.isEntry) visit(name);
  let minifiedBytes = 0;
  let gzipBytes = 0;
  let notLoadedBytes = 0;
  for (const [name, chunk] of chunks) {
    const bytes = new TextEncoder().encode(chunk.code);
    if (!loaded.has(name)) {
      notLoadedBytes += bytes.length;
      continue;
    }
    minifiedBytes += bytes.length;
    gzipBytes += gzipSync(bytes, { level: 9 }).length;
  }
  return {
    protocol,
    bundler: "vite",
    imports,
    entry,
    minifiedBytes,
    gzipBytes,
    notLoadedBytes,
    largest: [],
  };
}

/** The pages that Vite builds too: those from "etcd-web", which load a protocol on first use. */
export const vitePages: ReadonlyArray<[BundleRow["protocol"], string, string]> = [
  ["grpc-web", "etcd-web", "bench/browser/minimal-lazy-grpc-web.ts"],
  ["gateway", "etcd-web", "bench/browser/minimal-lazy-gateway.ts"],
];

/** The pages bench and test/bundle measure: one per protocol, from its own entry and from "etcd-web". */
export const bundlePages: ReadonlyArray<[BundleRow["protocol"], string, string]> = [
  ["grpc-web", "etcd-web/grpc-web", "bench/browser/minimal-grpc-web.ts"],
  ["gateway", "etcd-web/gateway", "bench/browser/minimal-gateway.ts"],
  ["grpc-web", "etcd-web", "bench/browser/minimal-lazy-grpc-web.ts"],
  ["gateway", "etcd-web", "bench/browser/minimal-lazy-gateway.ts"],
];

/**
 * The limit test/bundle enforces for a get+put+watch page from its protocol's own entry: 40 KB
 * gzipped, counted as 40,000 bytes. The grpc-web page reached it once its messages went
 * through the generated codecs (src/wire/) instead of protobuf-es's reflection.
 */
export const bundleLimitBytes = 40_000;
