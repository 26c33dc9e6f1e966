// Section 5: the gzip size of a minimal browser app (get, put, watch) per protocol.
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface BundleRow {
  protocol: "grpc-web" | "gateway";
  entry: string;
  minifiedBytes: number;
  gzipBytes: number;
  /** The largest inputs, by bytes in the minified output. */
  largest: Array<{ input: string; bytes: number }>;
}

export async function bundleSize(
  protocol: BundleRow["protocol"],
  entry: string,
): Promise<BundleRow> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "warning",
  });
  const code = out.outputFiles.map((f) => f.contents);
  const bytes = Buffer.concat(code);
  const output = Object.values(out.metafile.outputs)[0];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const name = m?.[1] ?? input.replace(/^(src\/[^/]+)\/.*/, "$1/");
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return {
    protocol,
    entry,
    minifiedBytes: bytes.length,
    gzipBytes: gzipSync(bytes, { level: 9 }).length,
    largest: [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([input, b]) => ({ input, bytes: b })),
  };
}
