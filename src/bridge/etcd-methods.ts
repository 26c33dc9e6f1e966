import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import {
  type AlarmRequest,
  AlarmRequest_AlarmAction,
  Auth,
  Cluster,
  KV,
  Lease,
  Maintenance,
  Watch,
} from "../gen/etcdserverpb/rpc_pb.js";

/** The etcd services the bridge forwards; nothing else is served. */
export const etcdServices: readonly DescService[] = [KV, Watch, Lease, Cluster, Maintenance, Auth];

/** One etcd method as the bridge serves it. */
export interface BridgedMethod {
  /** etcd's own method, used for the upstream call over HTTP/2. */
  readonly upstream: DescMethod;
  /**
   * The method the bridge serves to browsers. Unary and server-streaming methods as they are;
   * bidi methods (Watch, LeaseKeepAlive) as a server-streaming copy on the same path, because
   * neither fetch nor HTTP/1.1 can stream a request body. The one request is sent upstream and
   * the send side closed: etcd keeps a watch going after that, and answers one keep-alive.
   */
  readonly served: DescMethod;
  /** "/etcdserverpb.KV/Range" */
  readonly path: string;
  /** Safe to repeat on another member even if the first may have received it. */
  repeatable(request: Message): boolean;
  /**
   * Served over binary gRPC-Web as etcd's bytes, without Connect's pipeline (pass-through.ts):
   * Watch, whose many small responses under a write storm cost the bridge more CPU than
   * anything else, and every unary method, where Connect's server and client took over 90% of
   * the bridge's CPU. Other protocols of the same method go through Connect.
   */
  readonly passThrough: boolean;
}

// Reads, and what is harmless to apply twice. The rest (Put, DeleteRange, Txn, Compact, lease
// grant/revoke, member and auth changes, Defragment, MoveLeader) is retried only when it was
// never sent, as etcd's Go client does.
const repeatableUnary = new Set([
  "etcdserverpb.KV/Range",
  "etcdserverpb.Lease/LeaseTimeToLive",
  "etcdserverpb.Lease/LeaseLeases",
  "etcdserverpb.Cluster/MemberList",
  "etcdserverpb.Maintenance/Status",
  "etcdserverpb.Maintenance/Hash",
  "etcdserverpb.Maintenance/HashKV",
  "etcdserverpb.Auth/AuthStatus",
  "etcdserverpb.Auth/UserGet",
  "etcdserverpb.Auth/UserList",
  "etcdserverpb.Auth/RoleGet",
  "etcdserverpb.Auth/RoleList",
]);

export function bridgedMethods(services: readonly DescService[] = etcdServices): BridgedMethod[] {
  return services.flatMap((service) => service.methods.map(bridge));
}

function bridge(method: DescMethod): BridgedMethod {
  const name = `${method.parent.typeName}/${method.name}`;
  return {
    upstream: method,
    served:
      method.methodKind === "bidi_streaming"
        ? { ...method, methodKind: "server_streaming" }
        : method,
    path: `/${name}`,
    passThrough: name === "etcdserverpb.Watch/Watch" || method.methodKind === "unary",
    repeatable: (request) => {
      // Every stream here only reads or renews (Watch, LeaseKeepAlive, Snapshot), and a
      // stream is only retried before its first response.
      if (method.methodKind !== "unary") return true;
      if (repeatableUnary.has(name)) return true;
      if (name === "etcdserverpb.Maintenance/Alarm") {
        return (request as AlarmRequest).action === AlarmRequest_AlarmAction.GET;
      }
      return false;
    },
  };
}
