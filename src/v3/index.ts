export { EtcdClient, type EtcdOptions } from "./client.js";
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
