import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

// The TypeScript examples of the README and docs/*.md, type-checked as an app would see them:
// in a project of their own whose node_modules/etcd-web is this repository (its built dist/,
// through package.json's exports).
//
// Every ```ts (or ```typescript) block is compiled as a module of its own. Names an example
// uses without defining are declared in a prelude: the shared one below, and the block's own
// from an HTML comment just before it, <!-- prelude: declare const x: T; -->. A block that is
// not meant to compile (a fragment of a larger one) is fenced ```ts-fragment instead.

export interface Snippet {
  file: string;
  /** The line of the opening fence. */
  line: number;
  code: string;
  prelude: string;
}

/** Declarations every example may use. */
export const sharedPrelude = `declare const signal: AbortSignal;
declare const endpoints: string[];
`;

export function extractSnippets(
  file: string,
  text: string,
): { snippets: Snippet[]; fragments: number } {
  const snippets: Snippet[] = [];
  let fragments = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```\s*([\w-]*)\s*$/.exec(lines[i] ?? "");
    if (!fence) continue;
    const lang = fence[1] ?? "";
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that does not end`);
    if (lang === "ts-fragment") fragments++;
    if (lang === "ts" || lang === "typescript") {
      const comment = /^<!--\s*prelude:([\s\S]*?)-->\s*$/.exec(lines[i - 1] ?? "");
      snippets.push({
        file,
        line: i + 1,
        code: lines.slice(i + 1, end).join("\n"),
        prelude: comment?.[1]?.trim() ?? "",
      });
    }
    i = end;
  }
  return { snippets, fragments };
}

/**
 * Type-checks the snippets against the package at packageDir (which must hold a built dist/).
 * Returns tsc's errors, each pointing at the markdown file and line; none when all compile.
 */
export function checkSnippets(snippets: readonly Snippet[], packageDir: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "etcd-web-snippets-"));
  mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
  symlinkSync(resolve(packageDir), join(dir, "node_modules", "etcd-web"), "dir");
  symlinkSync(
    resolve(packageDir, "node_modules", "@types", "node"),
    join(dir, "node_modules", "@types", "node"),
    "dir",
  );
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: ["node"],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      include: ["*.ts"],
    }),
  );
  const origin = new Map<string, Snippet>();
  snippets.forEach((s, n) => {
    const name = `${basename(s.file, ".md")}-${String(n).padStart(2, "0")}-line${s.line}.ts`;
    origin.set(name, s);
    // The prelude goes on the first line, so that tsc's line numbers are the block's own + 1.
    const prelude = `${sharedPrelude}${s.prelude}`.replace(/\n/g, " ");
    writeFileSync(join(dir, name), `${prelude}\n${s.code}\nexport {};\n`);
  });
  const tsc = spawnSync(
    process.execPath,
    [resolve(packageDir, "node_modules/typescript/bin/tsc"), "-p", dir, "--pretty", "false"],
    { encoding: "utf8" },
  );
  if (tsc.status === 0) return [];
  const errors = `${tsc.stdout}${tsc.stderr}`.split("\n").filter((l) => l.trim() !== "");
  return errors.map((e) => {
    const m = /^([^(]+)\((\d+),(\d+)\): (.*)$/.exec(e);
    const s = m && origin.get(basename(m[1] ?? ""));
    if (!m || !s) return e;
    return `${s.file}:${s.line + Number(m[2]) - 1}: ${m[4]}`;
  });
}

export function readSnippets(files: readonly string[]): { snippets: Snippet[]; fragments: number } {
  let fragments = 0;
  const snippets: Snippet[] = [];
  for (const f of files) {
    const r = extractSnippets(f, readFileSync(f, "utf8"));
    snippets.push(...r.snippets);
    fragments += r.fragments;
  }
  return { snippets, fragments };
}
