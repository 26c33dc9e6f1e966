// The frames a session sends, batched: every frame queued before the next tick goes out in one
// socket write. The socket's backpressure holds them back, and answers the server asked for
// (PING and SETTINGS ACKs) are counted while they wait, since a flood of them is cheap to send.
import type { Socket } from "node:net";
import { ConnectionError, ErrorCode } from "./h2-errors.node.js";
import { Flag, frameHeader } from "./h2-frame-codec.node.js";

/**
 * ACKs this side may hold unsent (queued this tick, or behind a socket that does not drain)
 * before it takes the server for a flood (RFC 9113 section 10.5; nghttp2's limit).
 */
export const maxPendingAcks = 1000;

export class FrameWriter {
  private out: Buffer[] = [];
  private scheduled = false;
  /** The socket's last write() returned false: frames wait here until it drains. */
  private blocked = false;
  /** Frames wait until the connection is up and the preface is first in line. */
  private started = false;
  private pendingAcks = 0;

  constructor(private readonly socket: Socket) {
    socket.on("drain", () => {
      this.blocked = false;
      this.flush();
    });
  }

  frame(type: number, flags: number, id: number, payload: Buffer): void {
    this.out.push(frameHeader(type, flags, id, payload.length));
    if (payload.length > 0) this.out.push(payload);
    if (!this.scheduled) {
      this.scheduled = true;
      // Frames written by every call that runs before the next tick go out in one write.
      process.nextTick(() => this.flush());
    }
  }

  /** An answer the server asked for; past maxPendingAcks unsent, ENHANCE_YOUR_CALM. */
  ack(type: number, payload: Buffer): void {
    if (++this.pendingAcks > maxPendingAcks) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `more than ${maxPendingAcks} PING and SETTINGS frames to acknowledge at once`,
      );
    }
    this.frame(type, Flag.ACK, 0, payload);
  }

  /** Starts writing, with `first` (the connection preface) ahead of what waited. */
  start(first: Buffer): void {
    this.out.unshift(first);
    this.started = true;
    this.flush();
  }

  /** Everything still queued, for the last write before the socket closes; nothing after. */
  takeAll(): Buffer | undefined {
    const rest = this.started && this.out.length > 0 ? Buffer.concat(this.out) : undefined;
    this.out = [];
    this.started = false;
    return rest;
  }

  private flush(): void {
    this.scheduled = false;
    if (!this.started || this.blocked || this.out.length === 0 || this.socket.destroyed) return;
    const data = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
    this.out = [];
    this.pendingAcks = 0;
    if (!this.socket.write(data)) this.blocked = true;
  }
}
