import { InvalidInputError } from "../errors/etcd-error.js";

/** A key or value as callers give it: text (encoded as UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === "string" ? encoder.encode(b) : b;
}

export function toText(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Checks a caller's key or value type, so that a number or undefined fails clearly. */
export function checkBytes(b: unknown, field: string): Uint8Array {
  if (typeof b === "string" || b instanceof Uint8Array) return toBytes(b);
  throw new InvalidInputError(
    `${field} must be a string or a Uint8Array, got ${b === null ? "null" : typeof b}`,
    field,
  );
}

/**
 * The end of the range of keys starting with `prefix`: the prefix with its last byte below
 * 0xff incremented and what follows dropped. A prefix of only 0xff bytes (or empty) has no
 * end: [0] means "to the end of the keyspace", as etcd reads it.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] ?? 0xff;
    if (byte < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
