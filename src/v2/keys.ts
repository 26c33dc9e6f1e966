import { InvalidInputError } from "../errors/etcd-error.js";
import type { CallOptions } from "../internal/call-options.js";
import type { Clock } from "../internal/clock.js";
import { withDeadline } from "../internal/deadline.js";
import { decodeKeysResponse } from "./decode.js";
import type { V2Http, V2Request } from "./http.js";
import type { V2Response } from "./types.js";
import { V2Watcher, type WatcherOptions } from "./watcher.js";

export interface GetOptions extends CallOptions {
  /** With a directory: its whole subtree, not only its children. */
  recursive?: boolean;
  /** A directory's children sorted by key. */
  sort?: boolean;
  /** Read through raft (the leader), so the answer is never stale. */
  quorum?: boolean;
}

export interface SetOptions extends CallOptions {
  /** Set only if the current value is this (compare-and-swap). */
  prevValue?: string;
  /** Set only if the current modifiedIndex is this (compare-and-swap). */
  prevIndex?: number;
  /** true: the key must exist (update); false: it must not (create). */
  prevExist?: boolean;
  /** Seconds to live; without it the key is permanent (a TTL it had is removed). */
  ttl?: number;
  /** Only reset the TTL: needs ttl, keeps the value, and wakes no watcher. */
  refresh?: boolean;
  /** Make a directory; the value must be "". */
  dir?: boolean;
}

export interface CreateOptions extends CallOptions {
  /** Seconds to live. */
  ttl?: number;
}

export type UpdateOptions = CreateOptions;

export interface DeleteOptions extends CallOptions {
  /** Delete a directory and all below it. */
  recursive?: boolean;
  /** Delete an empty directory (or a key). */
  dir?: boolean;
  /** Delete only if the current value is this (compare-and-delete). */
  prevValue?: string;
  /** Delete only if the current modifiedIndex is this (compare-and-delete). */
  prevIndex?: number;
}

/**
 * The v2 keys API (/v2/keys). Calls that must not run twice are sent to one endpoint only
 * once they may have reached it: create, createInOrder, delete, and set with a condition
 * (prevValue, prevIndex, prevExist: false). Everything else moves to the next endpoint when
 * one fails.
 */
export class KeysAPI {
  constructor(
    private readonly http: V2Http,
    private readonly defaultTimeoutMs: number,
    private readonly clock: Clock,
  ) {}

  async get(key: string, opts: GetOptions = {}): Promise<V2Response> {
    const query = flags({ recursive: opts.recursive, sorted: opts.sort, quorum: opts.quorum });
    return this.call({ method: "GET", path: keysPath(key), query, oneShot: false }, opts);
  }

  async set(key: string, value: string, opts: SetOptions = {}): Promise<V2Response> {
    checkValue(value);
    const form = new URLSearchParams();
    // A refresh must not carry a value, and a directory has none.
    if (value !== "" || !(opts.refresh || opts.dir)) form.set("value", value);
    putTTL(form, opts.ttl);
    if (opts.refresh) form.set("refresh", "true");
    if (opts.dir) form.set("dir", "true");
    if (opts.prevValue !== undefined) {
      form.set("prevValue", checkValue(opts.prevValue, "prevValue"));
    }
    putIndex(form, "prevIndex", opts.prevIndex);
    if (opts.prevExist !== undefined) form.set("prevExist", String(opts.prevExist));
    // A compare-and-swap repeated after it applied would fail its own comparison.
    const conditional =
      opts.prevExist === false || opts.prevValue !== undefined || form.has("prevIndex");
    return this.call({ method: "PUT", path: keysPath(key), form, oneShot: conditional }, opts);
  }

  /** Sets key only if it does not exist (action "create"); error 105 if it does. */
  async create(key: string, value: string, opts: CreateOptions = {}): Promise<V2Response> {
    return this.set(key, value, { ...opts, prevExist: false });
  }

  /** Sets key only if it exists (action "update"); error 100 if it does not. */
  async update(key: string, value: string, opts: UpdateOptions = {}): Promise<V2Response> {
    return this.set(key, value, { ...opts, prevExist: true });
  }

  /** Creates a key in dir named after its index, so keys sort in creation order (POST). */
  async createInOrder(dir: string, value: string, opts: CreateOptions = {}): Promise<V2Response> {
    checkValue(value);
    const form = new URLSearchParams({ value });
    putTTL(form, opts.ttl);
    return this.call({ method: "POST", path: keysPath(dir), form, oneShot: true }, opts);
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<V2Response> {
    const query = flags({ recursive: opts.recursive, dir: opts.dir });
    if (opts.prevValue !== undefined) {
      query.set("prevValue", checkValue(opts.prevValue, "prevValue"));
    }
    putIndex(query, "prevIndex", opts.prevIndex);
    return this.call({ method: "DELETE", path: keysPath(key), query, oneShot: true }, opts);
  }

  /**
   * Watches key: an async iterable of its changes, from after `afterIndex` (or from now).
   * Each wait is a long poll (wait=true) that goes on at the event's modifiedIndex + 1.
   * The signal ends it; `timeoutMs` limits the whole watch, and the client's default does not
   * apply.
   */
  watcher(key: string, opts: WatcherOptions = {}): V2Watcher {
    const path = keysPath(key);
    return new V2Watcher(
      (query, deadline) =>
        this.http.send({ method: "GET", path, query, oneShot: false, longPoll: true }, deadline),
      (deadline) =>
        this.http.send(
          {
            method: "GET",
            path,
            query: flags({ recursive: opts.recursive, quorum: true }),
            oneShot: false,
          },
          deadline,
        ),
      opts,
      this.clock,
    );
  }

  private async call(req: V2Request, opts: CallOptions): Promise<V2Response> {
    const answer = await withDeadline(
      { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.defaultTimeoutMs },
      (deadline) => this.http.send(req, deadline),
      this.clock,
    );
    return decodeKeysResponse(answer);
  }
}

/**
 * "/v2/keys" and the key, cleaned as etcd would clean it ("a//b/./c/.." is "/a/b"). The
 * server's mux answers a path that is not clean with a 301 redirect, which would turn a
 * POST into a GET; so the path sent is always clean, each segment URL-encoded.
 */
export function keysPath(key: string): string {
  if (typeof key !== "string") {
    throw new InvalidInputError(`key must be a string, got ${typeof key}`, "key");
  }
  const segments: string[] = [];
  for (const s of key.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segments.pop();
    else segments.push(encodeURIComponent(s));
  }
  return `/v2/keys/${segments.join("/")}`;
}

function flags(f: Record<string, boolean | undefined>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [name, on] of Object.entries(f)) if (on) q.set(name, "true");
  return q;
}

function checkValue(v: unknown, field = "value"): string {
  if (typeof v !== "string") {
    throw new InvalidInputError(`${field} must be a string, got ${typeof v}`, field);
  }
  return v;
}

function putTTL(form: URLSearchParams, ttl: number | undefined): void {
  if (ttl === undefined) return;
  if (!Number.isSafeInteger(ttl) || ttl < 0) {
    throw new InvalidInputError(`ttl must be whole seconds >= 0, got ${ttl}`, "ttl");
  }
  // As Go's client: 0 is "no TTL" (etcd would take ttl=0 as "expire at once").
  if (ttl > 0) form.set("ttl", String(ttl));
}

function putIndex(params: URLSearchParams, field: string, index: number | undefined): void {
  if (index === undefined) return;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new InvalidInputError(`${field} must be an etcd index >= 0, got ${index}`, field);
  }
  // 0 means "no condition", as in Go's client.
  if (index > 0) params.set(field, String(index));
}
