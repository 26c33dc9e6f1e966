// HPACK (RFC 7541) for a gRPC client: requests are encoded as literals without indexing (no
// encoder state to keep); responses are decoded in full: static and dynamic table, Huffman.

import { ConnectionError, ErrorCode } from "./h2-errors.node.js";

export type HeaderField = [name: string, value: string];

const compression = (m: string) => new ConnectionError(ErrorCode.COMPRESSION_ERROR, `hpack: ${m}`);

/** RFC 7541 Appendix A. */
const staticTable: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

const staticNameIndex = new Map<string, number>();
staticTable.forEach(([name], i) => {
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
});

// ---- Huffman (RFC 7541 Appendix B) ----
// The code is canonical: codes are handed out in order of (length, symbol), so the bit length
// of each of the 257 symbols (256 octets and EOS) is all it takes to rebuild it.
const codeLengths = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

interface Canonical {
  /** Per bit length: the first code of that length, and where its symbols start in `symbols`. */
  firstCode: Int32Array;
  firstIndex: Int32Array;
  count: Int32Array;
  symbols: Uint16Array;
}

function canonical(): Canonical {
  const count = new Int32Array(31);
  for (const l of codeLengths) count[l] = (count[l] ?? 0) + 1;
  const symbols = Uint16Array.from(
    codeLengths
      .map((_, s) => s)
      .sort((a, b) => (codeLengths[a] ?? 0) - (codeLengths[b] ?? 0) || a - b),
  );
  const firstCode = new Int32Array(31);
  const firstIndex = new Int32Array(31);
  let code = 0;
  let index = 0;
  for (let l = 1; l <= 30; l++) {
    firstCode[l] = code;
    firstIndex[l] = index;
    code = (code + (count[l] ?? 0)) << 1;
    index += count[l] ?? 0;
  }
  return { firstCode, firstIndex, count, symbols };
}

const huffman = canonical();

/** The code of one symbol, for tests: RFC 7541 gives 0x1ff8 (13 bits) for octet 0. */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  const bits = codeLengths[symbol] ?? 0;
  const rank = huffman.symbols.indexOf(symbol) - (huffman.firstIndex[bits] ?? 0);
  return { code: (huffman.firstCode[bits] ?? 0) + rank, bits };
}

export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  let out = "";
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    for (let b = 7; b >= 0; b--) {
      code = (code << 1) | ((byte >> b) & 1);
      len++;
      const first = huffman.firstCode[len] as number;
      const n = huffman.count[len] as number;
      if (n > 0 && code - first < n && code >= first) {
        const sym = huffman.symbols[(huffman.firstIndex[len] as number) + code - first] as number;
        if (sym === 256) throw compression("EOS in a Huffman string");
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len > 30) {
        throw compression("bad Huffman code");
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the start of EOS).
  if (len > 7 || code !== (1 << len) - 1) throw compression("bad Huffman padding");
  return out;
}

// ---- decoding ----

export class HpackDecoder {
  private dynamic: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  /**
   * limit: the SETTINGS_HEADER_TABLE_SIZE this side announced (4096 by default), above which
   * the server may never set the table's size.
   */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /**
   * One header block's fields. A list past maxListSize (counted as RFC 7541 section 4.1 does:
   * name + value + 32 per field) stops at once, before it is built: ENHANCE_YOUR_CALM. A block
   * that breaks HPACK's rules is a COMPRESSION_ERROR (RFC 9113 section 4.3).
   */
  decode(block: Uint8Array, maxListSize = Number.POSITIVE_INFINITY): HeaderField[] {
    const out: HeaderField[] = [];
    const pos = { i: 0 };
    let listSize = 0;
    while (pos.i < block.length) {
      const b = block[pos.i] as number;
      let field: HeaderField;
      if (b & 0x80) {
        field = this.entry(readInt(block, pos, 7));
      } else if (b & 0x40) {
        field = this.literal(block, pos, 6);
        this.add(field);
      } else if (b & 0x20) {
        // Section 4.2: only at the start of a block, and within the limit SETTINGS set.
        if (out.length > 0) throw compression("a table size update after a header field");
        const size = readInt(block, pos, 5);
        if (size > this.limit) {
          throw compression(`a table size update to ${size}, above ${this.limit}`);
        }
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        field = this.literal(block, pos, 4);
      }
      listSize += field[0].length + field[1].length + 32;
      if (listSize > maxListSize) {
        throw new ConnectionError(
          ErrorCode.ENHANCE_YOUR_CALM,
          `a header list of more than ${maxListSize} bytes`,
        );
      }
      out.push(field);
    }
    return out;
  }

  private literal(block: Uint8Array, pos: { i: number }, prefix: number): HeaderField {
    const index = readInt(block, pos, prefix);
    const name = index === 0 ? readString(block, pos) : this.entry(index)[0];
    return [name, readString(block, pos)];
  }

  private entry(index: number): HeaderField {
    if (index === 0) throw compression("index 0");
    const e =
      index <= staticTable.length
        ? staticTable[index - 1]
        : this.dynamic[index - staticTable.length - 1];
    if (!e) throw compression(`no entry ${index}`);
    return e;
  }

  private add(field: HeaderField): void {
    const size = field[0].length + field[1].length + 32;
    this.evict(size);
    if (size <= this.maxSize) {
      this.dynamic.unshift(field);
      this.size += size;
    }
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.dynamic.length > 0) {
      const e = this.dynamic.pop() as HeaderField;
      this.size -= e[0].length + e[1].length + 32;
    }
  }
}

function readInt(src: Uint8Array, pos: { i: number }, prefix: number): number {
  const max = (1 << prefix) - 1;
  let v = (src[pos.i++] as number) & max;
  if (v < max) return v;
  for (let shift = 0; ; shift += 7) {
    if (pos.i >= src.length || shift > 28) throw compression("bad integer");
    const b = src[pos.i++] as number;
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return v;
  }
}

function readString(src: Uint8Array, pos: { i: number }): string {
  const huff = ((src[pos.i] as number) & 0x80) !== 0;
  const len = readInt(src, pos, 7);
  const start = pos.i;
  const end = start + len;
  if (pos.i > src.length || end > src.length) throw compression("string past the block");
  pos.i = end;
  if (huff) return huffmanDecode(src, start, end);
  // Header octets as latin1: one char per octet, so sizes count as RFC 7541 counts them.
  return Buffer.from(src.buffer, src.byteOffset + start, len).toString("latin1");
}

// ---- encoding ----

/** Header fields as literals without indexing; a static-table name is sent by its index. */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  const parts: number[] = [];
  for (const [name, value] of fields) {
    if (name === ":method" && value === "POST") {
      parts.push(0x83);
      continue;
    }
    if (name === ":scheme" && (value === "http" || value === "https")) {
      parts.push(value === "http" ? 0x86 : 0x87);
      continue;
    }
    const index = staticNameIndex.get(name);
    if (index !== undefined) {
      writeInt(parts, index, 4, 0x00);
    } else {
      parts.push(0x00);
      writeString(parts, name);
    }
    writeString(parts, value);
  }
  return Buffer.from(parts);
}

function writeInt(out: number[], v: number, prefix: number, flags: number): void {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(flags | v);
    return;
  }
  out.push(flags | max);
  let rest = v - max;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
}

function writeString(out: number[], s: string): void {
  const bytes = Buffer.from(s, "latin1");
  writeInt(out, bytes.length, 7, 0x00);
  for (const b of bytes) out.push(b);
}
