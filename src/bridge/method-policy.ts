import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidInputError } from "../errors/etcd-error.js";

// Which etcd methods the bridge serves. Closed by default: what a page needs to read, write,
// watch and lease keys, and to log in. Snapshot (the whole database), auth and member changes,
// Defragment, Compact, MoveLeader and the rest are refused unless allowed by name.
// envoy/envoy.yaml routes the same default set (test/bridge/config.test.ts checks it).

export interface MethodPolicyOptions {
  /**
   * Also serve these methods, e.g. "etcdserverpb.Maintenance/Snapshot"; "Service/*" allows a
   * whole service ("etcdserverpb.Auth/*").
   */
  allowMethods?: readonly string[] | undefined;
  /** Serve every method of the six services. */
  allowAllMethods?: boolean | undefined;
  /** Serve only reads: Range, Watch, and the client's probe reads (Status, MemberList). */
  readOnly?: boolean | undefined;
}

/** Served when no option says otherwise. */
export const defaultMethods: readonly string[] = [
  "etcdserverpb.KV/Range",
  "etcdserverpb.KV/Put",
  "etcdserverpb.KV/DeleteRange",
  "etcdserverpb.KV/Txn",
  "etcdserverpb.Watch/Watch",
  "etcdserverpb.Lease/LeaseGrant",
  "etcdserverpb.Lease/LeaseRevoke",
  "etcdserverpb.Lease/LeaseKeepAlive",
  "etcdserverpb.Lease/LeaseTimeToLive",
  "etcdserverpb.Lease/LeaseLeases",
  "etcdserverpb.Maintenance/Status",
  "etcdserverpb.Cluster/MemberList",
  "etcdserverpb.Auth/Authenticate",
];

/** Served with readOnly. */
export const readOnlyMethods: readonly string[] = [
  "etcdserverpb.KV/Range",
  "etcdserverpb.Watch/Watch",
  "etcdserverpb.Maintenance/Status",
  "etcdserverpb.Cluster/MemberList",
];

export class MethodPolicy {
  private readonly served: ReadonlySet<string>;

  /** @param known every method the bridge knows, "etcdserverpb.KV/Range" style */
  constructor(options: MethodPolicyOptions, known: readonly string[]) {
    if (options.readOnly && options.allowAllMethods) {
      throw new InvalidInputError(
        "readOnly and allowAllMethods (--read-only, --allow-all-methods) contradict each other",
        "readOnly",
      );
    }
    const served = new Set(
      options.allowAllMethods ? known : options.readOnly ? readOnlyMethods : defaultMethods,
    );
    for (const pattern of options.allowMethods ?? []) {
      const matched = known.filter((name) =>
        pattern.endsWith("/*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
      );
      if (matched.length === 0) {
        throw new InvalidInputError(
          `allowMethods: "${pattern}" is no etcd method (e.g. etcdserverpb.Maintenance/Snapshot or etcdserverpb.Auth/*)`,
          "allowMethods",
        );
      }
      for (const name of matched) served.add(name);
    }
    this.served = served;
  }

  /** undefined when served; else PERMISSION_DENIED naming the flag that serves it. */
  check(name: string): ConnectError | undefined {
    if (this.served.has(name)) return undefined;
    return new ConnectError(
      `etcd-web-bridge: ${name} is not served; start the bridge with --allow-method ${name} (allowMethods) to serve it`,
      Code.PermissionDenied,
    );
  }
}
