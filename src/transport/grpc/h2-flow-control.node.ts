// Flow control (RFC 9113 section 6.9): the windows this side may send into, widened by the
// server's WINDOW_UPDATE and SETTINGS_INITIAL_WINDOW_SIZE, and when this side widens its own.
import { ConnectionError, ErrorCode, StreamError } from "./h2-errors.node.js";
import { maxWindowSize } from "./h2-settings.node.js";

/**
 * A send window after a WINDOW_UPDATE of `increment` on stream `id` (0: the connection).
 * An increment of 0 is a PROTOCOL_ERROR, a window past 2^31-1 a FLOW_CONTROL_ERROR
 * (sections 6.9 and 6.9.1): of the connection on stream 0, of the stream alone otherwise.
 */
export function widen(window: number, increment: number, id: number): number {
  if (increment === 0) {
    throw flowError(ErrorCode.PROTOCOL_ERROR, id, "a WINDOW_UPDATE of 0");
  }
  const next = window + increment;
  if (next > maxWindowSize) {
    throw flowError(ErrorCode.FLOW_CONTROL_ERROR, id, `a window of ${next}, above 2^31-1`);
  }
  return next;
}

/** The increment a WINDOW_UPDATE payload carries (its reserved bit dropped). */
export function readIncrement(payload: Buffer): number {
  return payload.readUInt32BE(0) & 0x7fffffff;
}

/**
 * A stream's send window after SETTINGS_INITIAL_WINDOW_SIZE moved by `delta` (section 6.9.2):
 * it may go negative, but past 2^31-1 it is a connection error.
 */
export function shift(window: number, delta: number): number {
  const next = window + delta;
  if (next > maxWindowSize) {
    throw new ConnectionError(
      ErrorCode.FLOW_CONTROL_ERROR,
      `SETTINGS_INITIAL_WINDOW_SIZE takes a stream's window to ${next}, above 2^31-1`,
    );
  }
  return next;
}

/**
 * Whether to widen a window this side grants, after `unacked` bytes arrived since it last did:
 * once half is used. This side consumes data as it arrives, so it widens by all of it.
 */
export function updateDue(unacked: number, window: number): boolean {
  return unacked >= window / 2;
}

function flowError(code: number, id: number, message: string): Error {
  return id === 0
    ? new ConnectionError(code, `${message} on the connection`)
    : new StreamError(code, id, `${message} on stream ${id}`);
}
