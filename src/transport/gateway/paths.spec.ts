import type { DescMethod } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../gen/etcdserverpb/rpc_pb.js";
import { gatewayPath } from "./paths.js";

const services = [KV, Watch, Lease, Cluster, Maintenance, Auth];

// Checked against the google.api.http annotations of etcd's rpc.proto.
const known: Array<[DescMethod, string]> = [
  [KV.method.range, "/v3/kv/range"],
  [KV.method.deleteRange, "/v3/kv/deleterange"],
  [KV.method.compact, "/v3/kv/compaction"],
  [Watch.method.watch, "/v3/watch"],
  [Lease.method.leaseGrant, "/v3/lease/grant"],
  [Lease.method.leaseKeepAlive, "/v3/lease/keepalive"],
  [Lease.method.leaseTimeToLive, "/v3/lease/timetolive"],
  [Cluster.method.memberList, "/v3/cluster/member/list"],
  [Maintenance.method.status, "/v3/maintenance/status"],
  [Maintenance.method.hash, "/v3/maintenance/hash"],
  [Maintenance.method.hashKV, "/v3/maintenance/hashkv"],
  [Maintenance.method.moveLeader, "/v3/maintenance/transfer-leadership"],
  [Auth.method.authenticate, "/v3/auth/authenticate"],
  [Auth.method.userChangePassword, "/v3/auth/user/changepw"],
  [Auth.method.roleRevokePermission, "/v3/auth/role/revoke"],
];

describe("gatewayPath", () => {
  it("has a distinct /v3/ path for every method of the six services", () => {
    const all = services.flatMap((s) => s.methods.map((m) => [m.name, gatewayPath(m)] as const));
    expect(all.filter(([, path]) => path === undefined)).toEqual([]);
    const paths = all.map(([, path]) => path);
    expect(paths.every((p) => p?.startsWith("/v3/"))).toBe(true);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it.each(known.map(([m, path]) => [`${m.parent.name}.${m.name}`, m, path] as const))(
    "maps %s",
    (_, method, path) => {
      expect(gatewayPath(method)).toBe(path);
    },
  );

  it("finds copies of a descriptor, and nothing for other methods", () => {
    const serverStreaming = { ...Watch.method.watch, methodKind: "server_streaming" };
    expect(gatewayPath(serverStreaming)).toBe("/v3/watch");
    expect(gatewayPath({ ...KV.method.range, name: "Lock" })).toBeUndefined();
    expect(gatewayPath({ ...KV.method.range, name: "toString" })).toBeUndefined();
  });
});
