import { Auth, Cluster, KV, Lease, Maintenance } from "../gen/etcdserverpb/rpc_ref.js";
import type { CallOptions } from "../internal/call-options.js";
import type { EndpointTransport, EtcdTransport } from "../transport/protocol.js";
import { type AttemptOptions, type UnaryClient, unaryClient } from "./unary-client.js";

export type { AttemptOptions };

/** The generated clients of every etcd service on one endpoint, over one transport. */
export interface Connection {
  readonly transport: EtcdTransport;
  readonly close: () => void;
  readonly kv: UnaryClient<typeof KV>;
  readonly lease: UnaryClient<typeof Lease>;
  readonly cluster: UnaryClient<typeof Cluster>;
  readonly maintenance: UnaryClient<typeof Maintenance>;
  readonly auth: UnaryClient<typeof Auth>;
}

export function connection(t: EndpointTransport): Connection {
  return {
    transport: t.transport,
    close: t.close,
    kv: unaryClient(KV, t.transport),
    lease: unaryClient(Lease, t.transport),
    cluster: unaryClient(Cluster, t.transport),
    maintenance: unaryClient(Maintenance, t.transport),
    auth: unaryClient(Auth, t.transport),
  };
}

/** Runs one unary call with failover (EtcdClient.unary); what each service file calls. */
export interface Caller {
  unary<T>(
    options: CallOptions,
    idempotent: boolean,
    call: (c: Connection, attempt: AttemptOptions) => Promise<T>,
  ): Promise<T>;
}
