// HTTP/2's error codes (RFC 9113 section 7) and the two kinds of error a peer's mistake causes
// (section 5.4): one that ends the connection (GOAWAY), and one that ends a stream (RST_STREAM).

/** RFC 9113 section 7, named as there. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const names = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** "PROTOCOL_ERROR", or "0x1f" for a code RFC 9113 does not name. */
export function errorName(code: number): string {
  return names.get(code) ?? `0x${code.toString(16)}`;
}

/** The peer broke a rule that ends the connection: GOAWAY with `h2Code`. */
export class ConnectionError extends Error {
  constructor(
    readonly h2Code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The peer broke a rule that ends one stream: RST_STREAM with `h2Code`; the rest goes on. */
export class StreamError extends Error {
  constructor(
    readonly h2Code: number,
    readonly streamId: number,
    message: string,
  ) {
    super(message);
  }
}

/** An error of the connection, with a code as node's socket errors have. */
export function sessionError(
  message: string,
  code: string,
  cause?: unknown,
): Error & { code: string } {
  return Object.assign(new Error(message, { cause }), { code });
}
