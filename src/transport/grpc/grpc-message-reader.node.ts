// gRPC's length-prefixed messages (a flag byte, a 4-byte big-endian length, the bytes) out of a
// stream's DATA. A message split over frames is kept as a list of the pieces and joined once,
// when whole; its length is checked against the limit as soon as the prefix is in, before any
// of it is held.

/** Go clientv3's default MaxCallRecvMsgSize (math.MaxInt32). */
export const defaultMaxResponseBytes = 2 ** 31 - 1;

/** Why a reader refused a message. */
export class MessageError extends Error {
  constructor(
    readonly reason: "too-large" | "compressed",
    message: string,
  ) {
    super(message);
  }
}

const prefixBytes = 5;

export class MessageReader {
  /** The prefix of the message in progress, while fewer than 5 bytes of it arrived. */
  private prefix: Buffer | undefined;
  private prefixHave = 0;
  /** The message in progress: its length, and the pieces that arrived. */
  private length = -1;
  private pieces: Buffer[] = [];
  private have = 0;

  constructor(private readonly maxBytes: number = defaultMaxResponseBytes) {}

  /** Whether part of a message is held (a stream that ends now ended mid-message). */
  get partial(): boolean {
    return this.prefixHave > 0 || this.length >= 0;
  }

  /**
   * Hands each whole message in `chunk` (and what came before) to onMessage, as a plain
   * Uint8Array of its own: bytes fields decoded from it are views of it, so a kept value keeps
   * its message alive, not a socket read; and no Buffer reaches the caller.
   */
  push(chunk: Buffer, onMessage: (bytes: Uint8Array) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.length < 0) {
        // A prefix whole in this chunk: the common case, without copying it.
        if (this.prefixHave === 0 && chunk.length - off >= prefixBytes) {
          this.begin(chunk[off] as number, chunk.readUInt32BE(off + 1));
          off += prefixBytes;
        } else {
          this.prefix ??= Buffer.allocUnsafe(prefixBytes);
          const n = Math.min(prefixBytes - this.prefixHave, chunk.length - off);
          chunk.copy(this.prefix, this.prefixHave, off, off + n);
          this.prefixHave += n;
          off += n;
          if (this.prefixHave < prefixBytes) return;
          this.prefixHave = 0;
          this.begin(this.prefix[0] as number, this.prefix.readUInt32BE(1));
        }
      }
      const want = this.length - this.have;
      const n = Math.min(want, chunk.length - off);
      if (this.have === 0 && n === want) {
        // The whole message in this chunk: one copy.
        const bytes = new Uint8Array(this.length);
        bytes.set(chunk.subarray(off, off + n));
        this.length = -1;
        off += n;
        onMessage(bytes);
        continue;
      }
      if (n === 0) return;
      this.pieces.push(chunk.subarray(off, off + n));
      this.have += n;
      off += n;
      if (this.have === this.length) onMessage(this.join());
    }
  }

  private begin(flag: number, length: number): void {
    if (flag !== 0) throw new MessageError("compressed", "a compressed message");
    if (length > this.maxBytes) {
      throw new MessageError(
        "too-large",
        `a response message of ${length} bytes, larger than maxResponseBytes (${this.maxBytes})`,
      );
    }
    this.length = length;
  }

  private join(): Uint8Array {
    const bytes = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    this.pieces = [];
    this.have = 0;
    this.length = -1;
    return bytes;
  }
}
