import { ResponseError } from "../errors/etcd-error.js";
import type { V2Action, V2Member, V2Node, V2Response, V2Version } from "./types.js";
import { V2Error } from "./v2-error.js";

/** One answer of an etcd server, read but not yet decoded. */
export interface RawAnswer {
  endpoint: string;
  status: number;
  contentType: string | undefined;
  /** The body parsed as JSON; undefined when it was empty. */
  json: unknown;
  /** X-Etcd-Index, when the header could be read. */
  etcdIndex: number | undefined;
}

const actions: ReadonlySet<string> = new Set<V2Action>([
  "get",
  "set",
  "create",
  "update",
  "delete",
  "expire",
  "compareAndSwap",
  "compareAndDelete",
]);

export function decodeKeysResponse(a: RawAnswer): V2Response {
  const o = object(a.json, "the answer", a);
  if (typeof o.action !== "string" || !actions.has(o.action)) {
    throw bad(`unknown action ${JSON.stringify(o.action)}`, a);
  }
  const res: V2Response = {
    action: o.action as V2Action,
    node: decodeNode(o.node, "node", a),
    etcdIndex: a.etcdIndex,
  };
  if (o.prevNode !== undefined) res.prevNode = decodeNode(o.prevNode, "prevNode", a);
  return res;
}

function decodeNode(x: unknown, where: string, a: RawAnswer): V2Node {
  const o = object(x, where, a);
  const node: V2Node = {
    key: optional(o, "key", "string", where, a) ?? "/",
    dir: optional(o, "dir", "boolean", where, a) ?? false,
    createdIndex: optional(o, "createdIndex", "number", where, a) ?? 0,
    modifiedIndex: optional(o, "modifiedIndex", "number", where, a) ?? 0,
  };
  const value = optional(o, "value", "string", where, a);
  if (value !== undefined) node.value = value;
  const ttl = optional(o, "ttl", "number", where, a);
  if (ttl !== undefined) node.ttl = ttl;
  const expiration = optional(o, "expiration", "string", where, a);
  if (expiration !== undefined) node.expiration = expiration;
  if (o.nodes !== undefined) {
    if (!Array.isArray(o.nodes)) throw bad(`${where}.nodes is not an array`, a);
    node.nodes = o.nodes.map((n, i) => decodeNode(n, `${where}.nodes[${i}]`, a));
  }
  return node;
}

/**
 * The v2 error in an answer that is not 2xx, or undefined when the body is not one. etcd's
 * error JSON has a numeric errorCode; other JSON (a proxy's, say) is not taken for etcd's.
 */
export function decodeV2Error(a: RawAnswer): V2Error | undefined {
  if (!isObject(a.json) || typeof a.json.errorCode !== "number") return undefined;
  const { errorCode, message, cause, index } = a.json;
  return new V2Error(errorCode, typeof message === "string" ? message : `error ${errorCode}`, {
    errorCause: typeof cause === "string" ? cause : undefined,
    index: typeof index === "number" ? index : (a.etcdIndex ?? 0),
    status: a.status,
    endpoint: a.endpoint,
  });
}

export function decodeMembers(a: RawAnswer): V2Member[] {
  const o = object(a.json, "the answer", a);
  if (!Array.isArray(o.members)) throw bad("members is not an array", a);
  return o.members.map((m, i) => decodeMember(m, `members[${i}]`, a));
}

export function decodeMember(x: unknown, where: string, a: RawAnswer): V2Member {
  const o = object(x, where, a);
  return {
    id: required(o, "id", "string", where, a),
    name: optional(o, "name", "string", where, a) ?? "",
    peerURLs: strings(o.peerURLs, `${where}.peerURLs`, a),
    clientURLs: strings(o.clientURLs, `${where}.clientURLs`, a),
  };
}

export function decodeVersion(a: RawAnswer): V2Version {
  const o = object(a.json, "the answer", a);
  return {
    server: required(o, "etcdserver", "string", "the answer", a),
    cluster: optional(o, "etcdcluster", "string", "the answer", a) ?? "",
  };
}

export function bad(message: string, a: RawAnswer): ResponseError {
  return new ResponseError(`not a valid etcd v2 answer from ${a.endpoint}: ${message}`, {
    endpoint: a.endpoint,
    status: a.status,
    ...(a.contentType === undefined ? {} : { contentType: a.contentType }),
  });
}

type Json = Record<string, unknown>;
interface Kinds {
  string: string;
  number: number;
  boolean: boolean;
}

function isObject(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function object(x: unknown, where: string, a: RawAnswer): Json {
  if (!isObject(x)) throw bad(`${where} is not a JSON object`, a);
  return x;
}

function optional<K extends keyof Kinds>(
  o: Json,
  field: string,
  kind: K,
  where: string,
  a: RawAnswer,
): Kinds[K] | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== kind) throw bad(`${where}.${field} is not a ${kind}`, a);
  return v as Kinds[K];
}

function required<K extends keyof Kinds>(
  o: Json,
  field: string,
  kind: K,
  where: string,
  a: RawAnswer,
): Kinds[K] {
  const v = optional(o, field, kind, where, a);
  if (v === undefined) throw bad(`${where}.${field} is missing`, a);
  return v;
}

function strings(x: unknown, where: string, a: RawAnswer): string[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x) || x.some((s) => typeof s !== "string")) {
    throw bad(`${where} is not a list of strings`, a);
  }
  return x as string[];
}
