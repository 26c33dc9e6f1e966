#!/usr/bin/env node
// The integration tests, once per etcd version: the system's 3.4 (Debian bookworm), trixie's
// 3.5.16 and sid's newest 3.5 (scripts/etcd-versions.mjs). Each leg is `vitest run --project
// integration` with TEST_ETCD_VERSION set; the harness starts that version. Fails if a leg fails, or
// if a required leg has no etcd; a missing sid 3.5 is reported loudly and its leg left out.
//
//   node scripts/test-integration.mjs                 every version
//   node scripts/test-integration.mjs --only=3.5.16   one version (TEST_ETCD_VERSION's syntax)
//   node scripts/test-integration.mjs -- test/v3      extra vitest arguments after --
import { spawnSync } from "node:child_process";
import { installedVersions, missingSuites } from "./etcd-versions.mjs";

const args = process.argv.slice(2);
const dashdash = args.indexOf("--");
const vitestArgs = dashdash >= 0 ? args.slice(dashdash + 1) : [];
const only = args.find((a) => a.startsWith("--only="))?.slice(7);

const installed = installedVersions();
const legs = [
  {
    name: "3.4",
    pick: (v) => v.suite === "system" && v.version.startsWith("3.4."),
    required: true,
  },
  { name: "3.5.16", pick: (v) => v.suite === "trixie", required: true },
  { name: "newest 3.5", pick: (v) => v.suite === "sid", required: false },
]
  .map((leg) => ({ ...leg, etcd: installed.find(leg.pick) }))
  .filter((leg) => !only || leg.etcd?.version.startsWith(only));

const problems = [];
for (const leg of legs.filter((l) => !l.etcd)) {
  const why = missingSuites()[leg.name === "newest 3.5" ? "sid" : "trixie"] ?? "not installed";
  const line = `no etcd for the ${leg.name} leg: ${why}`;
  if (leg.required) problems.push(line);
  banner(`!!! ${line}${leg.required ? "" : " — running without that leg"}`);
}
if (problems.length) finish([], problems);

const results = [];
for (const leg of legs.filter((l) => l.etcd)) {
  const { version, suite } = leg.etcd;
  banner(`integration tests on etcd ${version} (${suite})`);
  const started = Date.now();
  const r = spawnSync("npx", ["vitest", "run", "--project", "integration", ...vitestArgs], {
    stdio: "inherit",
    env: { ...process.env, TEST_ETCD_VERSION: version },
  });
  results.push({ version, suite, ok: r.status === 0, seconds: (Date.now() - started) / 1000 });
}
finish(results, problems);

function finish(results, problems) {
  banner("integration tests per etcd version");
  for (const r of results) {
    console.log(
      `  etcd ${r.version.padEnd(8)} ${r.suite.padEnd(7)} ${r.ok ? "passed" : "FAILED"}  ${r.seconds.toFixed(0)} s`,
    );
  }
  for (const p of problems) console.log(`  ${p}`);
  process.exit(problems.length === 0 && results.every((r) => r.ok) ? 0 : 1);
}

function banner(text) {
  console.log(`\n==== ${text} ====\n`);
}
