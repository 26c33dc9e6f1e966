#!/usr/bin/env node
// Fails when src/gen differs from what `npm run generate` makes of proto/ now.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const out = mkdtempSync(join(tmpdir(), "etcd-web-gen-"));
try {
  const r = spawnSync("npx", ["buf", "generate", "--output", out], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const fresh = listFiles(join(out, "src/gen"));
  const committed = listFiles("src/gen");
  const problems = [];
  for (const f of new Set([...fresh, ...committed])) {
    if (!fresh.includes(f)) problems.push(`only in src/gen: ${f}`);
    else if (!committed.includes(f)) problems.push(`missing from src/gen: ${f}`);
    else if (!readFileSync(join(out, "src/gen", f)).equals(readFileSync(join("src/gen", f))))
      problems.push(`stale: src/gen/${f}`);
  }
  if (problems.length) {
    console.error(
      `Generated code is out of date; run \`npm run generate\`:\n  ${problems.join("\n  ")}`,
    );
    process.exit(1);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

function listFiles(dir) {
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(relative(dir, p));
    }
  };
  try {
    walk(dir);
  } catch {
    // a missing dir lists as empty
  }
  return files.sort();
}
