// Real etcd processes for integration tests: one member or a cluster on 127.0.0.1,
// each member on free ports with its own temporary data dir.
//
// Cleanup has two layers. Normal teardown (stop()) and the process "exit" hook kill
// what this process started. A detached watchdog per member covers the rest: if the
// test process dies without running hooks (SIGKILL, a crashed worker), the watchdog
// notices its parent is gone, kills etcd and removes the data dir.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type EtcdInstall, pickEtcd, versionOf } from "../../scripts/etcd-versions.mjs";
import { freePort } from "./ports.js";

export interface ClusterOptions {
  /** Number of members; 1 for a single member, 3 for the usual cluster. */
  size?: number;
  /** Pass --enable-v2=true (etcd 3.4/3.5 only). */
  enableV2?: boolean;
  /** Origins for --cors; CORS is off when empty. */
  corsOrigins?: string[];
  /** Extra flags for every member. */
  extraArgs?: string[];
  /** The etcd version to start (as TEST_ETCD_VERSION: "3.4", "3.5", "3.5.16"); default: that variable. */
  version?: string;
  /** How long to wait for the cluster to become healthy. */
  startTimeoutMs?: number;
  /**
   * Serve clients over TLS (https: client URLs) with this certificate; with clientCertAuth,
   * etcd asks for a client certificate signed by the CA (--client-cert-auth).
   */
  tls?: {
    certFile: string;
    keyFile: string;
    caFile: string;
    clientCertAuth?: boolean;
    /** A client certificate and key for the harness's own health checks. */
    clientCertFile?: string;
    clientKeyFile?: string;
  };
}

type MemberState = "running" | "stopped" | "paused";

const live = new Set<EtcdMember>();

process.once("exit", () => {
  for (const m of live) m.killSync();
});

/**
 * The etcd the tests start, chosen by version: `TEST_ETCD_VERSION` ("3.4", "3.5", "3.5.16", an exact
 * version or a prefix; the newest installed match wins), or `TEST_ETCD_BIN` (a path; etcdctl beside
 * it). Default: the etcd on PATH (Debian bookworm's 3.4.23). `npm test` runs the integration
 * tests once per installed version (scripts/test-integration.mjs); setup.mjs installs them.
 */
export function selectedEtcd(version = process.env.TEST_ETCD_VERSION): EtcdInstall {
  const key = `${process.env.TEST_ETCD_BIN ?? ""}|${version ?? ""}`;
  let found = selected.get(key);
  if (!found) {
    found = findEtcd(version);
    selected.set(key, found);
  }
  return found;
}

const selected = new Map<string, EtcdInstall>();

function findEtcd(version: string | undefined): EtcdInstall {
  const bin = process.env.TEST_ETCD_BIN;
  if (bin) {
    return {
      version: versionOf(bin),
      suite: "TEST_ETCD_BIN",
      etcd: bin,
      etcdctl: join(dirname(bin), "etcdctl"),
    };
  }
  try {
    return pickEtcd(version);
  } catch (e) {
    throw new Error(`TEST_ETCD_VERSION=${version ?? ""}: ${(e as Error).message}`);
  }
}

export function etcdBinary(): string {
  return selectedEtcd().etcd;
}

export function etcdctlBinary(): string {
  return selectedEtcd().etcdctl;
}

export function etcdVersion(): string {
  return selectedEtcd().version;
}

/** etcd's minor version as a number: 4 for 3.4.23, 5 for 3.5.30. */
export function etcdMinor(): number {
  return Number(/^3\.(\d+)/.exec(etcdVersion())?.[1]);
}

export class EtcdMember {
  readonly clientUrl: string;
  readonly peerUrl: string;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private state: MemberState = "stopped";
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly args: () => string[],
    private readonly tls?: ClusterOptions["tls"],
    private readonly binary = etcdBinary(),
  ) {
    this.clientUrl = `${tls ? "https" : "http"}://127.0.0.1:${clientPort}`;
    this.peerUrl = `http://127.0.0.1:${peerPort}`;
  }

  get running(): boolean {
    return this.state === "running";
  }

  get paused(): boolean {
    return this.state === "paused";
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; resolves once it is spawned (not yet healthy). */
  spawn(): void {
    if (this.child) throw new Error(`${this.name} is already running`);
    const log = openSync(this.logFile, "a");
    // etcd reads every ETCD_* variable as a flag: pass none of the test run's on.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")),
    );
    const child = spawn(this.binary, this.args(), { stdio: ["ignore", log, log], env });
    this.child = child;
    this.state = "running";
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.child === child) {
          this.child = undefined;
          this.state = "stopped";
        }
        resolve();
      });
    });
    this.watchdog = spawn(
      "sh",
      [
        "-c",
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; kill -0 "$1" 2>/dev/null || rm -rf "$3"',
        "watchdog",
        String(process.pid),
        String(child.pid),
        this.dataDir,
      ],
      { detached: true, stdio: "ignore" },
    );
    this.watchdog.unref();
  }

  /** Waits until /health answers healthy. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${this.name} exited during start:\n${this.logTail()}`);
      try {
        const body = (await this.getHealth()) as { health?: string | boolean };
        if (String(body.health) === "true") return;
        last = JSON.stringify(body);
      } catch (e) {
        last = String(e);
      }
      await sleep(100);
    }
    throw new Error(`${this.name} not healthy after ${timeoutMs} ms (${last}):\n${this.logTail()}`);
  }

  private async getHealth(): Promise<unknown> {
    const url = `${this.clientUrl}/health`;
    const tls = this.tls;
    if (!tls) {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return res.json();
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          ca: readFileSync(tls.caFile),
          ...(tls.clientCertFile && tls.clientKeyFile
            ? { cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }
            : {}),
          timeout: 1000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            try {
              resolve(JSON.parse(text));
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  }

  /** SIGTERM and wait for exit. */
  async stop(): Promise<void> {
    if (!this.child) return;
    if (this.state === "paused") this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
    this.afterExit();
  }

  /** SIGKILL and wait for exit: a crash, with no graceful shutdown. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGKILL");
    await this.exited;
    this.afterExit();
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing. */
  pause(): void {
    if (!this.child || this.state !== "running") throw new Error(`${this.name} is not running`);
    this.child.kill("SIGSTOP");
    this.state = "paused";
    // kill() returns before the process stops: a request sent at once can still be answered
    // (seen with a fast client). Wait until the kernel shows it stopped.
    const pid = this.child.pid;
    const until = Date.now() + 2000;
    while (pid !== undefined && Date.now() < until && !stopped(pid)) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (!this.child || this.state !== "paused") throw new Error(`${this.name} is not paused`);
    this.child.kill("SIGCONT");
    this.state = "running";
  }

  /** Starts again on the same ports and data dir, and waits until healthy. */
  async restart(timeoutMs?: number): Promise<void> {
    await this.stop();
    this.spawn();
    await this.waitHealthy(timeoutMs);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** For the exit hook: no awaiting possible there. */
  killSync(): void {
    try {
      this.child?.kill("SIGKILL");
    } catch {
      // already gone
    }
    this.afterExit();
  }

  private afterExit(): void {
    live.delete(this);
    try {
      this.watchdog?.kill("SIGKILL");
    } catch {
      // already gone
    }
    this.watchdog = undefined;
  }
}

/** Linux: the process is stopped (state T in /proc/<pid>/stat); elsewhere, assume it is. */
function stopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
  } catch {
    return true;
  }
}

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    readonly baseDir: string,
  ) {}

  /** Client URLs of every member, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new Error(`no member ${i}`);
    return m;
  }

  static async start(opts: ClusterOptions = {}): Promise<EtcdCluster> {
    // A port found free can be taken by another process before etcd binds it (tests run
    // in parallel): start again on new ports when that happens.
    for (let attempt = 1; ; attempt++) {
      try {
        return await EtcdCluster.startOnce(opts);
      } catch (e) {
        if (attempt >= 3 || !/address already in use/.test(String(e))) throw e;
      }
    }
  }

  private static async startOnce(opts: ClusterOptions): Promise<EtcdCluster> {
    const size = opts.size ?? 1;
    // Data on tmpfs where there is one: etcd fsyncs every write, and a loaded 2-core machine
    // running several clusters at once must not wait on the disk.
    const baseDir = mkdtempSync(join(dataRoot(), "etcd-web-test-"));
    const token = `etcd-web-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const ports: Array<[number, number]> = [];
    for (let i = 0; i < size; i++) ports.push([await freePort(), await freePort()]);
    const names = ports.map((_, i) => `m${i}`);
    const scheme = opts.tls ? "https" : "http";
    const initialCluster = ports
      .map(([, peer], i) => `${names[i]}=http://127.0.0.1:${peer}`)
      .join(",");
    const members = ports.map(([client, peer], i) => {
      const name = names[i] ?? `m${i}`;
      const dataDir = join(baseDir, name);
      const args = [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${scheme}://127.0.0.1:${client}`,
        `--advertise-client-urls=${scheme}://127.0.0.1:${client}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        "--initial-cluster-state=new",
        "--logger=zap",
        "--log-outputs=stderr",
        "--log-level=warn",
        ...(opts.enableV2 ? ["--enable-v2=true"] : []),
        ...(opts.corsOrigins?.length ? [`--cors=${opts.corsOrigins.join(",")}`] : []),
        ...(opts.tls
          ? [
              `--cert-file=${opts.tls.certFile}`,
              `--key-file=${opts.tls.keyFile}`,
              `--trusted-ca-file=${opts.tls.caFile}`,
              ...(opts.tls.clientCertAuth ? ["--client-cert-auth"] : []),
            ]
          : []),
        ...(opts.extraArgs ?? []),
      ];
      return new EtcdMember(
        name,
        client,
        peer,
        dataDir,
        join(baseDir, `${name}.log`),
        () => args,
        opts.tls,
        selectedEtcd(opts.version).etcd,
      );
    });
    const cluster = new EtcdCluster(members, baseDir);
    try {
      for (const m of members) m.spawn();
      await Promise.all(members.map((m) => m.waitHealthy(opts.startTimeoutMs)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /**
   * Waits until the running members agree on a leader that is itself running, e.g. after
   * killing a member. Returns the leader's member id (decimal string).
   */
  async waitForLeader(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const running = this.members.filter((m) => m.running);
      const seen = await Promise.all(
        running.map((m) => memberStatus(m.clientUrl).catch(() => undefined)),
      );
      const leaders = new Set(seen.map((s) => s?.leader));
      const ids = new Set(seen.map((s) => s?.header?.member_id));
      const [leader] = leaders;
      if (leaders.size === 1 && leader && leader !== "0" && ids.has(leader)) return leader;
      last = JSON.stringify(seen);
      await sleep(100);
    }
    throw new Error(`no leader after ${timeoutMs} ms: ${last}`);
  }

  /** Stops every member and removes all data. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

interface StatusJson {
  leader?: string;
  header?: { member_id?: string };
}

async function memberStatus(url: string): Promise<StatusJson> {
  const res = await fetch(`${url}/v3/maintenance/status`, {
    method: "POST",
    body: "{}",
    signal: AbortSignal.timeout(1000),
  });
  return (await res.json()) as StatusJson;
}

function dataRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
