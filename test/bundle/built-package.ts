import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// The package as npm ships it: `tsc -p tsconfig.build.json` into dist/. Test files run in
// parallel workers, so one builds while the others wait on its lock; a dist/ newer than every
// source is used as it is.

const root = process.cwd();
const dist = join(root, "dist");
const stamp = join(dist, ".built");
const lock = join(root, "dist.build-lock");
const inputs = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"];

export async function builtPackage(timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (upToDate()) return root;
    if (takeLock()) {
      try {
        if (!upToDate()) build();
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      return root;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `dist/ was not built within ${timeoutMs} ms: is ${lock} left from a killed run?`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function build(): void {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "pipe",
  });
  writeFileSync(stamp, "");
}

function takeLock(): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    return false;
  }
}

function upToDate(): boolean {
  let built: number;
  try {
    built = statSync(stamp).mtimeMs;
  } catch {
    return false;
  }
  return inputs.every((p) => newest(join(root, p)) < built);
}

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}
