// etcdctl (Go's concurrency package underneath) as a second, independent client in tests.
import { type ChildProcess, spawn } from "node:child_process";
import { etcdctlBinary } from "../harness/etcd.js";
import { eventually, sleep } from "../harness/wait.js";

const running = new Set<Etcdctl>();

/** One etcdctl process; its stdout is collected as it arrives. */
export class Etcdctl {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(endpoints: readonly string[], args: readonly string[]) {
    // The etcdctl of the etcd version under test.
    this.child = spawn(etcdctlBinary(), [...args], {
      env: { ...process.env, ETCDCTL_API: "3", ETCDCTL_ENDPOINTS: endpoints.join(",") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    running.add(this);
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code) => {
        running.delete(this);
        resolve(code);
      }),
    );
  }

  /** The lines printed so far. */
  get lines(): string[] {
    return this.stdout.split("\n").filter((l) => l !== "");
  }

  /** Waits until stdout satisfies check. */
  async waitFor(check: (stdout: string) => boolean, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check(this.stdout)) {
      if (Date.now() > end) {
        throw new Error(
          `etcdctl: no expected output in ${timeoutMs} ms; stdout=${JSON.stringify(this.stdout)} stderr=${JSON.stringify(this.stderr)}`,
        );
      }
      await sleep(20);
    }
  }

  /** SIGINT, as a person pressing Ctrl-C: etcdctl unlocks or resigns, then exits. */
  async interrupt(): Promise<number | null> {
    this.child.kill("SIGINT");
    return this.exited;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

/** Kills every etcdctl a test left running. */
export function killAllEtcdctl(): void {
  for (const c of running) c.kill();
}

export { eventually, sleep };
