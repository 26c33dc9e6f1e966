import { readdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { builtPackage } from "./built-package.js";
import { checkSnippets, extractSnippets, readSnippets } from "./doc-snippets.js";

// The README is the front door: each of its TypeScript examples, and those of docs/*.md, must
// compile against the package as built (dist/ through package.json's exports).

const docs = [
  "README.md",
  ...readdirSync("docs")
    .map((f) => `docs/${f}`)
    .filter((f) => f.endsWith(".md")),
];
let root = "";

beforeAll(async () => {
  root = await builtPackage();
}, 300_000);

describe("the TypeScript examples of the README and docs", () => {
  it("compile against the built package", () => {
    const { snippets } = readSnippets(docs);
    expect(snippets.length).toBeGreaterThan(8);
    expect(checkSnippets(snippets, root)).toEqual([]);
  }, 120_000);

  it("are few fragments that do not compile (```ts-fragment)", () => {
    expect(readSnippets(docs).fragments).toBeLessThanOrEqual(3);
  });

  it("fail when one does not compile, pointing at the markdown line", () => {
    const md = [
      "Text.",
      "",
      "```ts",
      'import { Etcd } from "etcd-web";',
      'const etcd = new Etcd({ endpoints: ["http://127.0.0.1:2379"] });',
      'await etcd.put("k", "v", { signal });',
      "etcd.nonsense();",
      "```",
      "<!-- prelude: declare const late: number; -->",
      "```ts",
      "const n: number = late;",
      "const s: string = late;",
      "```",
    ].join("\n");
    const { snippets } = extractSnippets("broken.md", md);
    expect(snippets.map((s) => [s.line, s.prelude])).toEqual([
      [3, ""],
      [10, "declare const late: number;"],
    ]);
    const errors = checkSnippets(snippets, root);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^broken\.md:7: .*'nonsense' does not exist on type 'Etcd'/);
    expect(errors[1]).toMatch(/^broken\.md:12: .*Type 'number' is not assignable to type 'string'/);
  }, 120_000);
});
