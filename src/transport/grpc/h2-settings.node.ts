// SETTINGS (RFC 9113 section 6.5): what this side announces, and the server's, each value
// checked as section 6.5.2 says before any of it is used.
import { ConnectionError, ErrorCode } from "./h2-errors.node.js";

/** Section 6.5.2. */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The largest flow-control window (section 6.9.1). */
export const maxWindowSize = 2 ** 31 - 1;
/** SETTINGS_MAX_FRAME_SIZE lies between these (section 6.5.2); the first is the initial value. */
export const minMaxFrameSize = 2 ** 14;
export const maxMaxFrameSize = 2 ** 24 - 1;
/** The initial window of every stream and of the connection (section 6.9.2). */
export const initialWindowSize = 65_535;
/** RFC 7541's initial dynamic table size; this side announces no other. */
export const headerTableSize = 4096;
/**
 * The largest header list this side takes, decoded and counted as RFC 7541 section 4.1 does
 * (name + value + 32 per field); also the most header block bytes it collects. etcd's headers
 * are a few hundred bytes; nghttp2 and Go use 64 KiB-1 MiB.
 */
export const maxHeaderListSize = 64 * 1024;

/** The server's settings, as they stand. */
export interface PeerSettings {
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
}

export const initialPeerSettings: PeerSettings = {
  // Unlimited until the server says (section 6.5.2); this side caps itself at 100 meanwhile.
  maxConcurrentStreams: 100,
  initialWindowSize,
  maxFrameSize: minMaxFrameSize,
};

/** This side's SETTINGS payload: no push, its stream window, its header-list limit. */
export function localSettings(streamWindow: number): Buffer {
  const entries: Array<[number, number]> = [
    [SettingId.ENABLE_PUSH, 0],
    // Streams the server may open: none (push is off).
    [SettingId.MAX_CONCURRENT_STREAMS, 0],
    [SettingId.INITIAL_WINDOW_SIZE, streamWindow],
    [SettingId.MAX_HEADER_LIST_SIZE, maxHeaderListSize],
  ];
  const b = Buffer.allocUnsafe(entries.length * 6);
  entries.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return b;
}

/**
 * Reads a SETTINGS payload (its length already checked) into `current`; returns how much the
 * initial stream window changed. A value out of range is a connection error (section 6.5.2);
 * unknown settings are ignored.
 */
export function applySettings(current: PeerSettings, payload: Buffer): number {
  let windowDelta = 0;
  for (let i = 0; i + 6 <= payload.length; i += 6) {
    const id = payload.readUInt16BE(i);
    const v = payload.readUInt32BE(i + 2);
    switch (id) {
      case SettingId.ENABLE_PUSH:
        // A server may only send 0 (section 8.4).
        if (v !== 0) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH of ${v}`);
        }
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        current.maxConcurrentStreams = v;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        if (v > maxWindowSize) {
          throw new ConnectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            `SETTINGS_INITIAL_WINDOW_SIZE of ${v}, above 2^31-1`,
          );
        }
        windowDelta += v - current.initialWindowSize;
        current.initialWindowSize = v;
        break;
      case SettingId.MAX_FRAME_SIZE:
        if (v < minMaxFrameSize || v > maxMaxFrameSize) {
          throw new ConnectionError(
            ErrorCode.PROTOCOL_ERROR,
            `SETTINGS_MAX_FRAME_SIZE of ${v}, outside 2^14..2^24-1`,
          );
        }
        current.maxFrameSize = v;
        break;
      default:
        // HEADER_TABLE_SIZE bounds the table of this side's encoder, which uses none;
        // MAX_HEADER_LIST_SIZE is advisory; unknown identifiers are ignored.
        break;
    }
  }
  return windowDelta;
}
