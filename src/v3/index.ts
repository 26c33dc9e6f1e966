export type { AuthApi, Permission, PermissionType } from "./auth.js";
export type { Credentials } from "./auth-session.js";
export { EtcdClient, type EtcdOptions } from "./client.js";
export type { ClusterApi, Member, MemberList } from "./cluster.js";
export { KeepAlive, type KeepAliveOptions, type KeepAliveState } from "./keep-alive.js";
export { KeyValue, type ResponseHeader } from "./key-value.js";
export type {
  CompactOptions,
  CompactResult,
  DeleteOptions,
  DeleteResult,
  GetResult,
  KeyRangeOptions,
  PutOptions,
  PutResult,
  RangeOptions,
  SortOrder,
  SortTarget,
} from "./kv.js";
export type { LeaseApi, LeaseGrant, LeaseKeepAliveResult, LeaseTimeToLive } from "./lease.js";
export type { Alarm, AlarmName, MaintenanceApi, MemberStatus } from "./maintenance.js";
export {
  type CompareOperator,
  Comparison,
  compare,
  type NestedTxn,
  type OpResult,
  op,
  Txn,
  TxnOp,
  type TxnResult,
} from "./txn.js";
export type { WatchEvent, WatchOptions, WatchResponse, WatchState } from "./watcher.js";
export { Watcher } from "./watcher.js";
