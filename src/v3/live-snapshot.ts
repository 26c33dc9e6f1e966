import { type Bytes, toText } from "../internal/bytes.js";
import type { KeyValue } from "./key-value.js";

/**
 * A live view's life, changed only in LiveView.transition:
 *   listing → watching ⇄ reconnecting;  watching | reconnecting → relisting → watching;
 *   and from any of them → closed | failed
 */
export type LiveViewState =
  | "listing"
  | "watching"
  | "reconnecting"
  | "relisting"
  | "closed"
  | "failed";

/**
 * What a live view held at one moment: its keys, state and revision. It never changes; the
 * view makes a new one on its next change, so `a === b` tells whether anything changed.
 */
export class LiveSnapshot {
  private sorted: readonly KeyValue[] | undefined;

  /** @internal */
  constructor(
    private readonly byKey: ReadonlyMap<string, KeyValue>,
    /** The view's state when the snapshot was made. */
    readonly state: LiveViewState,
    /** The revision the keys reflect (see LiveView.revision). */
    readonly revision: bigint,
    /** Why the view failed, in state "failed". */
    readonly error: unknown,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** The key-value of a key (keys are compared as UTF-8 text). */
  get(key: Bytes): KeyValue | undefined {
    return this.byKey.get(typeof key === "string" ? key : toText(key));
  }

  has(key: Bytes): boolean {
    return this.get(key) !== undefined;
  }

  /** Every key-value, in etcd's key order (by bytes). The same array on every call. */
  values(): readonly KeyValue[] {
    this.sorted ??= Object.freeze(
      [...this.byKey.values()].sort((a, b) => compareBytes(a.key, b.key)),
    );
    return this.sorted;
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
