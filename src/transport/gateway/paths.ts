import type { DescMethod } from "@bufbuild/protobuf";

// etcd's gateway paths, from the google.api.http annotations in etcd's rpc.proto (api/etcdserverpb,
// etcdserver/etcdserverpb before 3.5). Every route is a POST with the whole request as the body.
// Keyed by "<service type name>.<method name>", so copies of a method descriptor (e.g. Watch as
// server-streaming) find the same path.
const paths: Readonly<Record<string, string>> = {
  "etcdserverpb.KV.Range": "/v3/kv/range",
  "etcdserverpb.KV.Put": "/v3/kv/put",
  "etcdserverpb.KV.DeleteRange": "/v3/kv/deleterange",
  "etcdserverpb.KV.Txn": "/v3/kv/txn",
  "etcdserverpb.KV.Compact": "/v3/kv/compaction",

  "etcdserverpb.Watch.Watch": "/v3/watch",

  "etcdserverpb.Lease.LeaseGrant": "/v3/lease/grant",
  "etcdserverpb.Lease.LeaseRevoke": "/v3/lease/revoke",
  "etcdserverpb.Lease.LeaseKeepAlive": "/v3/lease/keepalive",
  "etcdserverpb.Lease.LeaseTimeToLive": "/v3/lease/timetolive",
  "etcdserverpb.Lease.LeaseLeases": "/v3/lease/leases",

  "etcdserverpb.Cluster.MemberAdd": "/v3/cluster/member/add",
  "etcdserverpb.Cluster.MemberRemove": "/v3/cluster/member/remove",
  "etcdserverpb.Cluster.MemberUpdate": "/v3/cluster/member/update",
  "etcdserverpb.Cluster.MemberList": "/v3/cluster/member/list",
  "etcdserverpb.Cluster.MemberPromote": "/v3/cluster/member/promote",

  "etcdserverpb.Maintenance.Alarm": "/v3/maintenance/alarm",
  "etcdserverpb.Maintenance.Status": "/v3/maintenance/status",
  "etcdserverpb.Maintenance.Defragment": "/v3/maintenance/defragment",
  "etcdserverpb.Maintenance.Hash": "/v3/maintenance/hash",
  // Before 3.5.10 etcd annotated HashKV with /v3/maintenance/hash too, where Hash answers; those
  // servers (all of 3.4) have no gateway path for HashKV and answer this one 404.
  "etcdserverpb.Maintenance.HashKV": "/v3/maintenance/hashkv",
  "etcdserverpb.Maintenance.Snapshot": "/v3/maintenance/snapshot",
  "etcdserverpb.Maintenance.MoveLeader": "/v3/maintenance/transfer-leadership",
  // etcd 3.5 and later.
  "etcdserverpb.Maintenance.Downgrade": "/v3/maintenance/downgrade",

  "etcdserverpb.Auth.AuthEnable": "/v3/auth/enable",
  "etcdserverpb.Auth.AuthDisable": "/v3/auth/disable",
  // etcd 3.5 and later.
  "etcdserverpb.Auth.AuthStatus": "/v3/auth/status",
  "etcdserverpb.Auth.Authenticate": "/v3/auth/authenticate",
  "etcdserverpb.Auth.UserAdd": "/v3/auth/user/add",
  "etcdserverpb.Auth.UserGet": "/v3/auth/user/get",
  "etcdserverpb.Auth.UserList": "/v3/auth/user/list",
  "etcdserverpb.Auth.UserDelete": "/v3/auth/user/delete",
  "etcdserverpb.Auth.UserChangePassword": "/v3/auth/user/changepw",
  "etcdserverpb.Auth.UserGrantRole": "/v3/auth/user/grant",
  "etcdserverpb.Auth.UserRevokeRole": "/v3/auth/user/revoke",
  "etcdserverpb.Auth.RoleAdd": "/v3/auth/role/add",
  "etcdserverpb.Auth.RoleGet": "/v3/auth/role/get",
  "etcdserverpb.Auth.RoleList": "/v3/auth/role/list",
  "etcdserverpb.Auth.RoleDelete": "/v3/auth/role/delete",
  "etcdserverpb.Auth.RoleGrantPermission": "/v3/auth/role/grant",
  "etcdserverpb.Auth.RoleRevokePermission": "/v3/auth/role/revoke",
};

/** The method's path on etcd's JSON gateway (e.g. "/v3/kv/range"), or undefined if it has none. */
export function gatewayPath(method: Pick<DescMethod, "name" | "parent">): string | undefined {
  const key = `${method.parent.typeName}.${method.name}`;
  return Object.hasOwn(paths, key) ? paths[key] : undefined;
}
