// HTTP/2 frames (RFC 9113 section 4 and 6): their header, their reassembly from socket reads,
// padding, and the length and stream rules each frame type has on its own, before any state.
import { ConnectionError, ErrorCode } from "./h2-errors.node.js";

export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

const frameHeaderBytes = 9;

/** The 9-byte frame header (section 4.1). */
export function frameHeader(type: number, flags: number, id: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(frameHeaderBytes);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}

export type OnFrame = (type: number, flags: number, id: number, payload: Buffer) => boolean;

/**
 * Frames out of socket reads. Frames whole within a read are views of it; a frame split over
 * reads is kept as a list of pieces and joined once, from just the bytes it lacked (a frame is
 * copied at most once, a read never). A length above the advertised SETTINGS_MAX_FRAME_SIZE
 * fails as soon as the frame's header is in.
 */
export class FrameReader {
  /** A frame begun in earlier reads: its pieces (views: nothing writes to a read again). */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes it takes to go on: a frame header, or the whole frame whose header is in. */
  private need = frameHeaderBytes;

  constructor(private readonly maxFrameSize: number) {}

  /** Hands each whole frame to onFrame, in order; onFrame returns false to stop reading. */
  push(chunk: Buffer, onFrame: OnFrame): void {
    let off = 0;
    while (this.buffered > 0) {
      const missing = this.need - this.buffered;
      if (chunk.length - off < missing) {
        this.chunks.push(off === 0 ? chunk : chunk.subarray(off));
        this.buffered += chunk.length - off;
        return;
      }
      this.chunks.push(chunk.subarray(off, off + missing));
      off += missing;
      const head = Buffer.concat(this.chunks, this.need);
      this.chunks = [];
      this.buffered = 0;
      // `head` is a whole frame, or a frame header whose payload is still to come.
      const end = this.parse(head, 0, onFrame);
      if (end < 0) return;
      if (end < head.length) this.hold(head, end);
    }
    const end = this.parse(chunk, off, onFrame);
    if (end >= 0 && end < chunk.length) this.hold(chunk, end);
  }

  /**
   * Hands the whole frames of buf from off to onFrame; returns where an incomplete one starts
   * (and sets `need` for it), or -1 when onFrame stopped.
   */
  private parse(buf: Buffer, from: number, onFrame: OnFrame): number {
    let off = from;
    this.need = frameHeaderBytes;
    while (buf.length - off >= frameHeaderBytes) {
      const len = buf.readUIntBE(off, 3);
      if (len > this.maxFrameSize) {
        throw new ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `a frame of ${len} bytes, above SETTINGS_MAX_FRAME_SIZE (${this.maxFrameSize})`,
        );
      }
      if (buf.length - off < frameHeaderBytes + len) {
        this.need = frameHeaderBytes + len;
        break;
      }
      const type = buf[off + 3] as number;
      const flags = buf[off + 4] as number;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      const start = off + frameHeaderBytes;
      off = start + len;
      if (!onFrame(type, flags, id, buf.subarray(start, off))) return -1;
    }
    return off;
  }

  private hold(buf: Buffer, from: number): void {
    this.chunks.push(from === 0 ? buf : buf.subarray(from));
    this.buffered = buf.length - from;
  }
}

/**
 * The payload of a DATA or HEADERS frame without its pad length and padding (sections 6.1,
 * 6.2): padding as long as the payload or longer is a PROTOCOL_ERROR.
 */
export function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & Flag.PADDED)) return payload;
  if (payload.length < 1) {
    throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "a PADDED frame without a pad length");
  }
  const pad = payload[0] as number;
  if (pad >= payload.length) {
    throw new ConnectionError(
      ErrorCode.PROTOCOL_ERROR,
      `padding of ${pad} bytes in a payload of ${payload.length}`,
    );
  }
  return payload.subarray(1, payload.length - pad);
}

/**
 * The rules a frame keeps on its own (section 6): which stream it may be on, and its length.
 * PUSH_PROMISE is refused: this side disabled push.
 */
export function checkFrame(type: number, flags: number, id: number, length: number): void {
  switch (type) {
    case FrameType.DATA:
    case FrameType.HEADERS:
    case FrameType.CONTINUATION:
      if (id === 0) throw protocol(`${typeName(type)} on stream 0`);
      return;
    case FrameType.RST_STREAM:
      if (id === 0) throw protocol("RST_STREAM on stream 0");
      if (length !== 4) throw frameSize(`RST_STREAM of ${length} bytes`);
      return;
    case FrameType.SETTINGS:
      if (id !== 0) throw protocol("SETTINGS on a stream");
      if (flags & Flag.ACK && length !== 0) throw frameSize("a SETTINGS ACK with a payload");
      if (length % 6 !== 0) throw frameSize(`SETTINGS of ${length} bytes, not a multiple of 6`);
      return;
    case FrameType.PUSH_PROMISE:
      throw protocol("PUSH_PROMISE, with push disabled");
    case FrameType.PING:
      if (id !== 0) throw protocol("PING on a stream");
      if (length !== 8) throw frameSize(`PING of ${length} bytes`);
      return;
    case FrameType.GOAWAY:
      if (id !== 0) throw protocol("GOAWAY on a stream");
      if (length < 8) throw frameSize(`GOAWAY of ${length} bytes`);
      return;
    case FrameType.WINDOW_UPDATE:
      if (length !== 4) throw frameSize(`WINDOW_UPDATE of ${length} bytes`);
      return;
    case FrameType.PRIORITY:
      // Its content is ignored (priorities are deprecated, section 5.3.2), its form is not.
      // A wrong length is a stream error in section 6.3; nghttp2 ends the connection for it,
      // which section 5.4.1 allows, and so does this side.
      if (id === 0) throw protocol("PRIORITY on stream 0");
      if (length !== 5) throw frameSize(`PRIORITY of ${length} bytes`);
      return;
    default:
      // Unknown types are ignored (section 4.1).
      return;
  }
}

function typeName(type: number): string {
  for (const [k, v] of Object.entries(FrameType)) if (v === type) return k;
  return `frame type ${type}`;
}

const protocol = (m: string) => new ConnectionError(ErrorCode.PROTOCOL_ERROR, m);
const frameSize = (m: string) => new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, m);
