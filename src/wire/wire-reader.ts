/**
 * Protobuf's binary wire format, read. Every read is bounds-checked: bytes that end early or
 * hold a varint longer than 10 bytes throw a plain Error naming the offset, which the
 * transport reports as a response that does not decode.
 */
export class WireReader {
  pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** The low 32 bits of a varint, unsigned. */
  uint32(): number {
    return this.varint()[0];
  }

  /** A varint's 64 bits, as an unsigned bigint. */
  uint64(): bigint {
    const [lo, hi] = this.varint();
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  bool(): boolean {
    const [lo, hi] = this.varint();
    return lo !== 0 || hi !== 0;
  }

  /** Length-delimited bytes, as a view of the buffer. */
  bytes(): Uint8Array {
    const end = this.limit();
    const value = this.buf.subarray(this.pos, end);
    this.pos = end;
    return value;
  }

  /** Reads a length prefix; returns where the bytes it announces end. */
  limit(): number {
    const at = this.pos;
    const length = this.uint32();
    if (length > this.end - this.pos) {
      throw new Error(`a length of ${length} at byte ${at} runs past the end (${this.end})`);
    }
    return this.pos + length;
  }

  /** Skips a field of an unknown number (a newer etcd's): its value, by wire type. */
  skip(wireType: number): void {
    const at = this.pos;
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.pos = this.limit();
    else if (wireType === 1 || wireType === 5) this.pos += wireType === 1 ? 8 : 4;
    else throw new Error(`wire type ${wireType} at byte ${at} is not proto3's`);
    if (this.pos > this.end) throw new Error(`a field at byte ${at} runs past the end`);
  }

  /** A varint as its low and high 32 bits, both unsigned. */
  private varint(): [number, number] {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error(`a varint is cut off at byte ${this.pos}`);
      const b = buf[this.pos++] as number;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new Error(`a varint at byte ${this.pos - 10} is longer than 10 bytes`);
  }
}
