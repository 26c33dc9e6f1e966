#!/usr/bin/env node
// Installs what `npm test`, `npm run demo` and `npm run bench` need and a fresh clone lacks:
// the npm dependencies, (as root on Debian) etcd, Chromium, openssl and h2load through apt-get,
// and etcd 3.5 from Debian trixie and sid beside the system's 3.4 (scripts/etcd-versions.mjs).
// Uses only Node built-ins, because it runs before node_modules exists.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fetchEtcdVersions, installedVersions } from "./etcd-versions.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const purpose = (process.argv.find((a) => a.startsWith("--for=")) ?? "--for=test").slice(6);

// Each tool: the command that must be on PATH and the Debian packages that provide it.
const tools = {
  etcd: { packages: ["etcd-server", "etcd-client"], why: "the tests and the demo start real etcd" },
  chromium: { packages: ["chromium"], why: "the browser tests run in Debian's Chromium" },
  h2load: { packages: ["nghttp2-client"], why: "the benchmarks use h2load as the raw ceiling" },
  openssl: { packages: ["openssl"], why: "the TLS tests make throwaway certificates with it" },
};
const needs = {
  test: ["etcd", "chromium", "openssl"],
  demo: ["etcd"],
  bench: ["etcd", "h2load", "chromium"],
}[purpose];
if (!needs) fail(`unknown purpose ${purpose}; use --for=test, --for=demo or --for=bench`);

ensureNodeModules();
ensureTools(needs);
ensureEtcdVersions();

// etcd 3.5.16 (trixie) and the newest 3.5 (sid) beside the system's 3.4, in node_modules/.cache.
function ensureEtcdVersions() {
  let manifest;
  try {
    manifest = fetchEtcdVersions({ log });
  } catch (e) {
    log(`could not fetch etcd 3.5: ${e instanceof Error ? e.message : e}`);
    return;
  }
  for (const [suite, why] of Object.entries(manifest.missing ?? {})) {
    log(`!!! no etcd 3.5 from Debian ${suite}: ${why}`);
  }
  const versions = installedVersions().map((v) => `${v.version} (${v.suite})`);
  log(`etcd versions here: ${versions.join(", ")}`);
}

function ensureNodeModules() {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  const missing = names.filter((n) => !existsSync(join(root, "node_modules", n, "package.json")));
  if (missing.length === 0) return;
  log(
    `installing npm dependencies (missing: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""})`,
  );
  const args = existsSync(join(root, "package-lock.json")) ? ["ci"] : ["install"];
  run("npm", [...args, "--no-audit", "--no-fund"]);
}

function ensureTools(list) {
  const missing = list.filter((t) => !onPath(t));
  if (missing.length === 0) return;
  const packages = missing.flatMap((t) => tools[t].packages);
  const reasons = missing.map((t) => `  - ${t}: ${tools[t].why}`).join("\n");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !onPath("apt-get")) {
    fail(
      `missing on PATH:\n${reasons}\nInstall them, then run this again:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}\n` +
        "(on other systems: etcd 3.4 or newer, Chromium at /usr/bin/chromium, nghttp2's h2load)",
    );
  }
  log(`installing with apt-get: ${packages.join(" ")}\n${reasons}`);
  run("apt-get", ["update", "-q"]);
  run("apt-get", ["install", "-y", "-q", ...packages], { DEBIAN_FRONTEND: "noninteractive" });
  const still = missing.filter((t) => !onPath(t));
  if (still.length) fail(`apt-get finished but these are still not on PATH: ${still.join(", ")}`);
}

function onPath(cmd) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

function log(msg) {
  console.error(`[etcd-web setup] ${msg}`);
}

function fail(msg) {
  console.error(`[etcd-web setup] ${msg}`);
  process.exit(1);
}
