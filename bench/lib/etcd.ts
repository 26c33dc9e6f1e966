// The one etcd of a run: a single member on 127.0.0.1, started by the test harness.
import { existsSync } from "node:fs";
import { EtcdCluster } from "../../test/harness/etcd.js";

export interface BenchEtcd {
  cluster: EtcdCluster;
  url: string;
  /** Where the data dir lives: "tmpfs" (/dev/shm) or "disk". */
  storage: "tmpfs" | "disk";
}

/**
 * Starts etcd with v2 on (for the browser's v2 figures) and CORS for the page's origin.
 * The data dir goes on tmpfs when the machine has one: the figures compare clients, and
 * fsync on a disk shared with other work would add noise that belongs to none of them.
 */
export async function startEtcd(opts: { pageOrigin: string; disk: boolean }): Promise<BenchEtcd> {
  const tmpfs = !opts.disk && existsSync("/dev/shm");
  const saved = process.env.TMPDIR;
  if (tmpfs) process.env.TMPDIR = "/dev/shm";
  try {
    const cluster = await EtcdCluster.start({
      enableV2: true,
      corsOrigins: [opts.pageOrigin],
      // The storm leaves many revisions; a large quota keeps etcd from raising NOSPACE.
      extraArgs: ["--quota-backend-bytes=4294967296"],
    });
    return { cluster, url: cluster.endpoints[0] as string, storage: tmpfs ? "tmpfs" : "disk" };
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}
