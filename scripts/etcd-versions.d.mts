// Types for etcd-versions.mjs, which stays plain JavaScript because setup runs it before npm ci.
export interface EtcdInstall {
  version: string;
  /** "system" for the etcd on PATH, else the Debian suite it came from. */
  suite: string;
  etcd: string;
  etcdctl: string;
}
export interface EtcdManifest {
  entries: EtcdInstall[];
  missing: Record<string, string>;
  fetchedAt?: string;
}
export const etcdCacheDir: string;
export const suites: Array<{ suite: string; label: string; wantMinor: string; fixed: boolean }>;
export function installedVersions(): EtcdInstall[];
export function missingSuites(): Record<string, string>;
export function fetchEtcdVersions(opts: {
  log: (msg: string) => void;
  refresh?: boolean;
}): EtcdManifest;
export function pickEtcd(version?: string): EtcdInstall;
export function versionOf(etcd: string): string;
