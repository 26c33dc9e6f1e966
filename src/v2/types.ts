import type { V2Error } from "./v2-error.js";

/** etcd's v2 actions. */
export type V2Action =
  | "get"
  | "set"
  | "create"
  | "update"
  | "delete"
  | "expire"
  | "compareAndSwap"
  | "compareAndDelete";

/**
 * A node as etcd's v2 JSON has it. Fields etcd leaves out are filled in: `dir` is always a
 * boolean; the root node, which etcd sends without a key or indexes, has key "/" and index 0.
 */
export interface V2Node {
  key: string;
  /** Absent on directories. */
  value?: string;
  dir: boolean;
  /** A directory's children, when it was read (recursively, they have their own). */
  nodes?: V2Node[];
  createdIndex: number;
  modifiedIndex: number;
  /** Seconds left to live, for a key with a TTL. */
  ttl?: number;
  /** When a key with a TTL expires, as etcd sends it (RFC 3339). */
  expiration?: string;
}

/** The answer to a keys call: etcd's JSON plus the etcd index. */
export interface V2Response {
  action: V2Action;
  node: V2Node;
  /** The node before a write, when there was one. */
  prevNode?: V2Node;
  /**
   * The X-Etcd-Index header: the store's index when the answer was made. Undefined when the
   * header cannot be read; a browser cannot read it cross-origin, since etcd does not expose it.
   */
  etcdIndex: number | undefined;
}

/**
 * Yielded by a watcher instead of an event when etcd no longer had the events it was waiting
 * for (error 401, EventIndexCleared: etcd v2 keeps only the last 1000). The changes in
 * between are lost and cannot be recovered; `node` is the key's state now, to start again from.
 */
export interface V2Resync {
  action: "resync";
  /** The watched key now (with its children when the watcher is recursive); undefined if absent. */
  node: V2Node | undefined;
  /** Events after this index were not delivered. */
  lostAfter: number;
  /** `node` is the state as of this index (or later); the watcher goes on after it. */
  etcdIndex: number;
  /** The 401 that caused the resync. */
  error: V2Error;
}

export type V2WatchEvent = V2Response | V2Resync;

/** A member of the cluster, from /v2/members. */
export interface V2Member {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

/** What /version answers. */
export interface V2Version {
  server: string;
  cluster: string;
}
