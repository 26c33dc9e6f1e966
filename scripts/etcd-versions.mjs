// The etcd versions the integration tests run against, and how to get them.
//
// - 3.4: Debian bookworm's etcd-server (3.4.23), installed through apt-get; `etcd` on PATH.
// - 3.5.16: Debian trixie's etcd-server, a fixed version.
// - the newest 3.5: Debian sid's etcd-server (3.5.30 on 2026-12-01; sid moves without notice).
//
// trixie's and sid's packages are fetched without touching the system's apt sources: a sources
// list of our own in a temp dir, `apt-get download`, then `dpkg-deb -x` into the cache below.
// The manifest there records what each suite gave. Uses only Node built-ins (runs before npm ci).
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const etcdCacheDir = join(root, "node_modules", ".cache", "etcd-web", "etcd");
const manifestFile = join(etcdCacheDir, "manifest.json");

/** Extra Debian suites, each one leg of the integration matrix. */
export const suites = [
  { suite: "trixie", label: "3.5.16 (trixie)", wantMinor: "3.5", fixed: true },
  { suite: "sid", label: "newest 3.5 (sid)", wantMinor: "3.5", fixed: false },
];

/** The installed versions: [{ version, suite, etcd, etcdctl }], the system's first. */
export function installedVersions() {
  const list = [];
  const system = systemEtcd();
  if (system) list.push(system);
  for (const entry of readManifest().entries) {
    if (existsSync(entry.etcd)) list.push(entry);
  }
  return list;
}

/**
 * The installed etcd for a version: "3.4", "3.5", "3.5.16", an exact version or a prefix; the
 * newest match wins. Without a version, the etcd on PATH. Throws an Error that says what is here.
 */
export function pickEtcd(version) {
  const installed = installedVersions();
  if (!version) {
    const system = installed.find((v) => v.suite === "system");
    if (system) return system;
    throw new Error(
      "etcd is not on PATH: apt-get install -y etcd-server etcd-client (npm test and npm run demo do it as root)",
    );
  }
  const pick = installed
    .filter((v) => v.version === version || v.version.startsWith(`${version}.`))
    .sort((a, b) => compareVersions(b.version, a.version))[0];
  if (!pick) {
    const have = installed.map((v) => v.version).join(", ") || "none";
    throw new Error(
      `no etcd ${version} here (installed: ${have}); node scripts/setup.mjs fetches 3.5`,
    );
  }
  return pick;
}

function compareVersions(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What the last fetch could not get, per suite: { suite: message }. */
export function missingSuites() {
  return readManifest().missing;
}

function systemEtcd() {
  const etcd = which("etcd");
  if (!etcd) return undefined;
  return {
    version: versionOf(etcd),
    suite: "system",
    etcd,
    etcdctl: which("etcdctl") ?? "etcdctl",
  };
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestFile, "utf8"));
  } catch {
    return { entries: [], missing: {} };
  }
}

/**
 * Downloads each suite's etcd into the cache unless it is there. Returns the manifest.
 * `log` reports progress; a suite without a 3.5 package is recorded in `missing`, loudly.
 */
export function fetchEtcdVersions({ log, refresh = false }) {
  const manifest = readManifest();
  // sid moves: look again for a newer 3.5 once a week.
  const stale = Date.now() - Date.parse(manifest.fetchedAt ?? "") > 7 * 24 * 3600 * 1000;
  const wanted = (s) => refresh || !hasSuite(manifest, s.suite) || (!s.fixed && stale);
  if (!suites.some(wanted)) return manifest;
  if (!which("apt-get") || !which("dpkg-deb")) {
    throw new Error(
      "apt-get and dpkg-deb are needed to fetch etcd 3.5 from Debian's trixie and sid",
    );
  }
  const next = { entries: [], missing: {}, fetchedAt: new Date().toISOString() };
  for (const s of suites) {
    const have = manifest.entries.find((e) => e.suite === s.suite && existsSync(e.etcd));
    if (have && !wanted(s)) {
      next.entries.push(have);
      continue;
    }
    log(`fetching etcd from Debian ${s.suite} (for the ${s.label} leg of the tests)`);
    try {
      const entry = fetchSuite(s);
      if (!entry.version.startsWith(`${s.wantMinor}.`)) {
        next.missing[s.suite] =
          `Debian ${s.suite} now carries etcd ${entry.version}, not ${s.wantMinor}.x`;
        continue;
      }
      next.entries.push(entry);
      log(`etcd ${entry.version} from ${s.suite} is in ${dirname(dirname(dirname(entry.etcd)))}`);
    } catch (e) {
      next.missing[s.suite] = e instanceof Error ? e.message : String(e);
    }
  }
  mkdirSync(etcdCacheDir, { recursive: true });
  writeFileSync(manifestFile, `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

function hasSuite(manifest, suite) {
  return (
    manifest.missing?.[suite] !== undefined ||
    manifest.entries.some((e) => e.suite === suite && existsSync(e.etcd))
  );
}

function fetchSuite({ suite }) {
  const tmp = mkdtempSync(join(tmpdir(), `etcd-web-apt-${suite}-`));
  try {
    for (const d of ["lists/partial", "cache/archives/partial", "debs"]) {
      mkdirSync(join(tmp, d), { recursive: true });
    }
    writeFileSync(join(tmp, "sources.list"), `deb ${debianMirror()} ${suite} main\n`);
    const opts = [
      "-q",
      "-o",
      `Dir::Etc::sourcelist=${join(tmp, "sources.list")}`,
      "-o",
      "Dir::Etc::sourceparts=-",
      "-o",
      `Dir::State::Lists=${join(tmp, "lists")}`,
      "-o",
      `Dir::Cache=${join(tmp, "cache")}`,
      "-o",
      "APT::Get::List-Cleanup=0",
      // apt's _apt sandbox user cannot write into a root-owned temp dir.
      "-o",
      "APT::Sandbox::User=root",
    ];
    apt([...opts, "update"], tmp);
    apt([...opts, "download", "etcd-server", "etcd-client"], join(tmp, "debs"));
    const debs = readdirSync(join(tmp, "debs")).filter((f) => f.endsWith(".deb"));
    const server = debs.find((f) => f.startsWith("etcd-server_"));
    if (!server) throw new Error(`apt-get download gave no etcd-server package from ${suite}`);
    const version = /^etcd-server_(\d+\.\d+\.\d+)/.exec(server)?.[1];
    if (!version) throw new Error(`cannot read a version from ${server}`);
    const dest = join(etcdCacheDir, version);
    const staging = `${dest}.partial`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    for (const deb of debs) {
      execFileSync("dpkg-deb", ["-x", join(tmp, "debs", deb), staging]);
    }
    rmSync(dest, { recursive: true, force: true });
    renameSync(staging, dest);
    const etcd = join(dest, "usr", "bin", "etcd");
    const got = versionOf(etcd);
    if (got !== version) throw new Error(`${etcd} says it is ${got}, the package said ${version}`);
    return { version, suite, etcd, etcdctl: join(dest, "usr", "bin", "etcdctl") };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The Debian mirror the machine already uses (deb822 or one-line sources), else Debian's CDN. */
function debianMirror() {
  const files = ["/etc/apt/sources.list", "/etc/apt/sources.list.d/debian.sources"];
  for (const f of files) {
    let text;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    const m =
      /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) ??
      /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(text);
    if (m?.[1]) return m[1];
  }
  return "http://deb.debian.org/debian";
}

function apt(args, cwd) {
  const r = spawnSync("apt-get", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-5).join("\n");
    throw new Error(`apt-get ${args.at(-1)} failed (exit ${r.status ?? r.signal}):\n${tail}`);
  }
}

export function versionOf(etcd) {
  const out = execFileSync(etcd, ["--version"], { encoding: "utf8" });
  const m = /etcd Version: (\S+)/.exec(out);
  if (!m?.[1]) throw new Error(`${etcd} --version printed no version`);
  return m[1];
}

function which(cmd) {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
