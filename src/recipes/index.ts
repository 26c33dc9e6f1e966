// Recipes after Go's concurrency and namespace packages: sessions, locks, elections, STM and
// namespaces, sharing keys and semantics with Go programs and etcdctl.
export { ConcurrencyError, type ConcurrencyReason } from "./concurrency-error.js";
export { Election, type ElectionLeader } from "./election.js";
export type { KvClient, LeaseClient, WatchHandle } from "./kv-client.js";
export { Mutex } from "./mutex.js";
export { Namespace } from "./namespace.js";
export {
  defaultSessionTtlSeconds,
  Session,
  type SessionOptions,
  type SessionState,
} from "./session.js";
export { type Isolation, runStm, type Stm, type StmOptions, type StmResult } from "./stm.js";
