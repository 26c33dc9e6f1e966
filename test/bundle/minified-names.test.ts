import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// A production build (Vite, esbuild) renames classes. Error names must not follow: apps and
// logs match on e.name. The bundle is built minified, then run, and each error's name read.
const entry = `
import { ClusterError, ContextError, GrpcError, InvalidInputError, ResponseError, ConcurrencyError } from "./src/index.ts";
import { V2Error } from "./src/v2/index.ts";
const errors = [
  new ContextError("canceled"),
  new ClusterError([]),
  new ResponseError("r"),
  new InvalidInputError("i", "f"),
  new GrpcError(14, "g"),
  new V2Error(100, "v"),
  new ConcurrencyError("not-leader", "c"),
];
export const names = errors.map((e) => [e.name, e.constructor.name, String(e).split(":")[0]]);
`;

describe("error names in a minified bundle", () => {
  it("are the class names, not the minifier's", async () => {
    const out = await build({
      stdin: { contents: entry, resolveDir: process.cwd(), loader: "ts" },
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles[0]?.text ?? "";
    const { names } = (await import(
      `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`
    )) as { names: [string, string, string][] };
    // The minifier did rename the classes, so the check below can fail.
    expect(names.map(([, ctor]) => ctor)).not.toContain("ClusterError");
    expect(names.map(([name, , shown]) => [name, shown])).toEqual(
      [
        "ContextError",
        "ClusterError",
        "ResponseError",
        "InvalidInputError",
        "GrpcError",
        "V2Error",
        "ConcurrencyError",
      ].map((n) => [n, n]),
    );
  });
});
