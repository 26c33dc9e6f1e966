// What the run was measured on: printed with the table, so that figures carry their context.
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  etcd: string;
  h2load: string;
  chromium: string;
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return pattern.exec(out)?.[1] ?? out.trim().split("\n")[0] ?? "?";
  } catch {
    return "not found";
  }
}

export function machine(): Machine {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpu: cpus()[0]?.model.trim() ?? "?",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    etcd: version("etcd", ["--version"], /etcd Version: (\S+)/),
    h2load: version("h2load", ["--version"], /nghttp2\/(\S+)/),
    chromium: version("/usr/bin/chromium", ["--version"], /Chromium (\S+)/),
  };
}

/** The 1-minute load average, as `uptime` shows it: other work on the machine during a run. */
export function load(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** A log of the load at each step, for the results. */
export class LoadLog {
  readonly entries: Array<{ step: string; load1: number; at: string }> = [];

  mark(step: string): void {
    this.entries.push({ step, load1: load(), at: new Date().toISOString().slice(11, 19) });
  }

  get max(): number {
    return Math.max(0, ...this.entries.map((e) => e.load1));
  }

  get min(): number {
    return Math.min(...this.entries.map((e) => e.load1));
  }
}
