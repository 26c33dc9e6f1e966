// etcd-web/v2: etcd's v2 keys API over fetch, for browsers and Node.

export type { EndpointHealth, EndpointState } from "../endpoints/endpoint-pool.js";
export type { RetryOptions } from "../endpoints/failover.js";
export {
  ClusterError,
  ContextError,
  type EndpointFailure,
  EtcdError,
  InvalidInputError,
  ResponseError,
} from "../errors/etcd-error.js";
export type { CallOptions } from "../internal/call-options.js";
export { type SelectionMode, V2Client, type V2ClientOptions } from "./client.js";
export type { FetchFn } from "./http.js";
export type {
  CreateOptions,
  DeleteOptions,
  GetOptions,
  KeysAPI,
  SetOptions,
  UpdateOptions,
} from "./keys.js";
export type { MembersAPI } from "./members.js";
export type {
  V2Action,
  V2Member,
  V2Node,
  V2Response,
  V2Resync,
  V2Version,
  V2WatchEvent,
} from "./types.js";
export { isV2Error, V2Error, V2ErrorCode, type V2ErrorCodeName } from "./v2-error.js";
export type { V2Watcher, WatcherOptions } from "./watcher.js";
