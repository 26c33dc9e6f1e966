/**
 * Protobuf's binary wire format, written: varints, lengths and bytes into one growing buffer.
 * Only what etcd's messages use (no fixed-width or zigzag types).
 */
export class WireWriter {
  private buf = new Uint8Array(128);
  private pos = 0;

  /** The bytes written so far (a view of the buffer, not a copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Starts over, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }

  tag(fieldNo: number, wireType: number): void {
    this.uint32((fieldNo << 3) | wireType);
  }

  /** An unsigned value below 2^32, as a varint. */
  uint32(value: number): void {
    this.reserve(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** A signed 32-bit value: negative ones take 10 bytes, sign-extended to 64 bits. */
  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.uint64(BigInt.asUintN(64, BigInt(value)));
  }

  /** A value in [0, 2^64), as a varint. */
  uint64(value: bigint): void {
    if (value < 0x80000000n) {
      this.uint32(Number(value));
      return;
    }
    this.reserve(10);
    let v = value;
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Length-delimited bytes. */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}
