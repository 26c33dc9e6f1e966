// What a session sends for its streams, within the server's limits: header blocks in frames no
// larger than its SETTINGS_MAX_FRAME_SIZE, and request data within its flow-control windows
// (RFC 9113 section 6.9), held back per stream until a WINDOW_UPDATE makes room.
import { widen } from "./h2-flow-control.node.js";
import { Flag, FrameType } from "./h2-frame-codec.node.js";
import type { FrameWriter } from "./h2-frame-writer.node.js";
import { initialWindowSize, type PeerSettings } from "./h2-settings.node.js";
import type { H2Stream } from "./h2-stream.node.js";

export class DataSender {
  /** Bytes this side may still send on the connection (the server's connection window). */
  private window = initialWindowSize;
  /** Streams with data held back by flow control. */
  private readonly blocked = new Set<H2Stream>();

  constructor(
    private readonly writer: FrameWriter,
    private readonly peer: PeerSettings,
  ) {}

  /** A header block in HEADERS and, past one frame, CONTINUATION frames. */
  headers(id: number, block: Buffer): void {
    const max = this.peer.maxFrameSize;
    let off = 0;
    let type: number = FrameType.HEADERS;
    do {
      const part = block.subarray(off, off + max);
      off += part.length;
      this.writer.frame(type, off >= block.length ? Flag.END_HEADERS : 0, id, part);
      type = FrameType.CONTINUATION;
    } while (off < block.length);
  }

  /** Sends data as far as the windows allow; the rest waits on the stream. */
  send(s: H2Stream, data: Buffer, end: boolean): void {
    let off = 0;
    while (off < data.length || (end && off === data.length)) {
      // A window can be below 0 after SETTINGS_INITIAL_WINDOW_SIZE shrank (section 6.9.2).
      const room = Math.max(0, Math.min(this.peer.maxFrameSize, s.sendWindow, this.window));
      const n = Math.min(room, data.length - off);
      if (n <= 0 && off < data.length) {
        // Flow control: the rest waits for WINDOW_UPDATE.
        s.requeue([{ data: data.subarray(off), end }]);
        this.blocked.add(s);
        return;
      }
      const last = off + n >= data.length;
      this.writer.frame(
        FrameType.DATA,
        last && end ? Flag.END_STREAM : 0,
        s.id,
        data.subarray(off, off + n),
      );
      s.sendWindow -= n;
      this.window -= n;
      off += n;
      if (last) break;
    }
  }

  /** Sends what a stream holds back, as far as the windows allow. */
  flush(s: H2Stream): void {
    if (s.id === 0 || s.ended) return;
    const items = s.takeQueued();
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as { data: Buffer; end: boolean };
      this.send(s, item.data, item.end);
      if (this.blocked.has(s)) {
        s.requeue(items.slice(i + 1));
        return;
      }
    }
  }

  /** Every stream held back tries again (a window grew). */
  flushAll(): void {
    for (const s of [...this.blocked]) {
      this.blocked.delete(s);
      this.flush(s);
    }
  }

  /** A WINDOW_UPDATE on the connection. */
  widenConnection(increment: number): void {
    this.window = widen(this.window, increment, 0);
    this.flushAll();
  }

  /** A WINDOW_UPDATE on a stream. */
  widenStream(s: H2Stream, increment: number): void {
    s.sendWindow = widen(s.sendWindow, increment, s.id);
    if (this.blocked.delete(s)) this.flush(s);
  }

  forget(s: H2Stream): void {
    this.blocked.delete(s);
  }

  clear(): void {
    this.blocked.clear();
  }
}
