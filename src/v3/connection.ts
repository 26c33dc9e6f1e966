import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { Auth, Cluster, KV, Lease, Maintenance } from "../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "../internal/call-options.js";
import type { EndpointTransport } from "../transport/protocol.js";

/** The generated clients of every etcd service on one endpoint, over one transport. */
export interface Connection {
  readonly transport: Transport;
  readonly close: () => void;
  readonly kv: Client<typeof KV>;
  readonly lease: Client<typeof Lease>;
  readonly cluster: Client<typeof Cluster>;
  readonly maintenance: Client<typeof Maintenance>;
  readonly auth: Client<typeof Auth>;
}

export function connection(t: EndpointTransport): Connection {
  return {
    transport: t.transport,
    close: t.close,
    kv: createClient(KV, t.transport),
    lease: createClient(Lease, t.transport),
    cluster: createClient(Cluster, t.transport),
    maintenance: createClient(Maintenance, t.transport),
    auth: createClient(Auth, t.transport),
  };
}

/** What one attempt passes to a generated client: the attempt's signal and the auth header. */
export interface AttemptOptions {
  signal: AbortSignal;
  headers?: HeadersInit;
}

/** Runs one unary call with failover (EtcdClient.unary); what each service file calls. */
export interface Caller {
  unary<T>(
    options: CallOptions,
    idempotent: boolean,
    call: (c: Connection, attempt: AttemptOptions) => Promise<T>,
  ): Promise<T>;
}
