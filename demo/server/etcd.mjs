// Local etcd members for the demo and its browser tests: one member or a cluster on
// 127.0.0.1, each with a temporary data dir. Plain JavaScript, because scripts/demo.mjs and
// e2e/server.mjs run under Node 20, which does not run TypeScript (test/harness/etcd.ts is
// the same idea for the integration tests).
//
// Cleanup: stop() and the process "exit" hook kill the members; a detached watchdog per member
// kills it and removes the data if this process dies without running them (SIGKILL).
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickEtcd } from "../../scripts/etcd-versions.mjs";

const live = new Set();
process.once("exit", () => {
  for (const m of live) m.killSync();
});

/**
 * Starts `size` members and waits until they are healthy.
 * @param {{ size?: number, corsOrigins?: string[], enableV2?: boolean,
 *   preferredPorts?: boolean, version?: string }} options preferredPorts: 2379/2380,
 *   22379/22380, 32379/32380 when free (as etcd's own Procfile), else any free ports;
 *   version: "3.4", "3.5" or an exact version (scripts/etcd-versions.mjs), else etcd on PATH
 */
export async function startEtcd(options = {}) {
  const { etcd: binary, version } = pickEtcd(options.version);
  const size = options.size ?? 1;
  const baseDir = mkdtempSync(join(tmpdir(), "etcd-web-demo-"));
  const token = `etcd-web-demo-${process.pid}-${Date.now()}`;
  const ports = [];
  for (let i = 0; i < size; i++) {
    const base = i === 0 ? 2379 : 10_000 * (i + 1) + 2379;
    const want = options.preferredPorts ? [base, base + 1] : [0, 0];
    ports.push([await freePort(want[0], ports.flat()), await freePort(want[1], ports.flat())]);
  }
  const names = ports.map((_, i) => `m${i}`);
  const initialCluster = ports.map(([, peer], i) => `${names[i]}=http://127.0.0.1:${peer}`);
  const members = ports.map(([client, peer], i) => {
    const name = names[i];
    const clientUrl = `http://127.0.0.1:${client}`;
    const args = [
      `--name=${name}`,
      `--data-dir=${join(baseDir, name)}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=${initialCluster.join(",")}`,
      `--initial-cluster-token=${token}`,
      "--initial-cluster-state=new",
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
      ...(options.enableV2 ? ["--enable-v2=true"] : []),
      ...(options.corsOrigins?.length ? [`--cors=${options.corsOrigins.join(",")}`] : []),
    ];
    return new Member(name, clientUrl, binary, args, join(baseDir, `${name}.log`), baseDir);
  });
  const cluster = {
    members,
    baseDir,
    version,
    member(name) {
      const m = members.find((x) => x.name === name);
      if (!m) throw new Error(`no member ${name}`);
      return m;
    },
    async stop() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  try {
    for (const m of members) m.spawn();
    await Promise.all(members.map((m) => m.waitHealthy()));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

class Member {
  constructor(name, clientUrl, binary, args, logFile, baseDir) {
    Object.assign(this, { name, clientUrl, binary, args, logFile, baseDir });
    this.child = undefined;
    this.watchdog = undefined;
    this.exited = Promise.resolve();
  }

  get running() {
    return this.child !== undefined;
  }

  spawn() {
    if (this.child) throw new Error(`${this.name} is already running`);
    const log = openSync(this.logFile, "a");
    // etcd reads every ETCD_* variable as a flag (ETCD_WEB_DEMO_* among them): pass none on.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")),
    );
    const child = spawn(this.binary, this.args, { stdio: ["ignore", log, log], env });
    this.child = child;
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    // Kills etcd and removes the data if this process goes away without cleaning up.
    this.watchdog = spawn(
      "sh",
      [
        "-c",
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; kill -0 "$1" 2>/dev/null || rm -rf "$3"',
        "watchdog",
        String(process.pid),
        String(child.pid),
        this.baseDir,
      ],
      { detached: true, stdio: "ignore" },
    );
    this.watchdog.unref();
  }

  async waitHealthy(timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${this.name} exited during start:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = await res.json();
        if (String(body.health) === "true") return;
        last = JSON.stringify(body);
      } catch (e) {
        last = String(e);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not healthy after ${timeoutMs} ms (${last}):\n${this.logTail()}`);
  }

  /** SIGKILL, as a crash: no graceful shutdown. */
  async kill() {
    if (!this.child) return;
    this.child.kill("SIGKILL");
    await this.exited;
    this.afterExit();
  }

  /** Starts again on the same ports and data, and waits until healthy. */
  async restart() {
    await this.kill();
    this.spawn();
    await this.waitHealthy();
  }

  logTail(lines = 30) {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  killSync() {
    try {
      this.child?.kill("SIGKILL");
    } catch {
      // already gone
    }
    this.afterExit();
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  afterExit() {
    live.delete(this);
    try {
      this.watchdog?.kill("SIGKILL");
    } catch {
      // already gone
    }
    this.watchdog = undefined;
  }
}

/** `preferred` when it is free on 127.0.0.1 (and not in `taken`), else any free port. */
export async function freePort(preferred = 0, taken = []) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const s = createServer();
      s.unref();
      s.once("error", () => resolve(undefined));
      s.listen(port, "127.0.0.1", () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
  if (preferred && !taken.includes(preferred)) {
    const p = await tryPort(preferred);
    if (p) return p;
  }
  for (;;) {
    const p = await tryPort(0);
    if (p && !taken.includes(p)) return p;
  }
}
