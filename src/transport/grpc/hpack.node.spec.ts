import { describe, expect, it } from "vitest";
import { E } from "../../../test/fakes/raw-h2-peer.js";
import { encodeHeaders, HpackDecoder, huffmanCode, huffmanDecode } from "./hpack.node.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("hpack", () => {
  it("rebuilds RFC 7541's Huffman code from the bit lengths", () => {
    expect(huffmanCode(0)).toEqual({ code: 0x1ff8, bits: 13 });
    expect(huffmanCode(10)).toEqual({ code: 0x3ffffffc, bits: 30 });
    expect(huffmanCode("a".charCodeAt(0))).toEqual({ code: 0x3, bits: 5 });
    expect(huffmanCode(256)).toEqual({ code: 0x3fffffff, bits: 30 });
  });

  it("decodes a Huffman string (RFC 7541 C.4.1) and rejects bad padding", () => {
    const b = hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff");
    expect(huffmanDecode(b, 0, b.length)).toBe("www.example.com");
    const bad = hex("f1e3 c2e5 f23a 6ba0 ab90 f400");
    expect(() => huffmanDecode(bad, 0, bad.length)).toThrow(/padding|code/);
  });

  it("keeps the dynamic table across blocks, with eviction (RFC 7541 C.6)", () => {
    const d = new HpackDecoder(256);
    const first = d.decode(
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
           2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
    );
    expect(first).toEqual([
      [":status", "302"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
      ["location", "https://www.example.com"],
    ]);
    // ":status 307" evicts the oldest entry; the others are still indexed (c1, c0, bf).
    expect(d.decode(hex("4883 640e ff c1 c0 bf"))).toEqual([
      [":status", "307"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
      ["location", "https://www.example.com"],
    ]);
  });

  it("encodes literals that decode to the same fields, long names and values included", () => {
    const fields: Array<[string, string]> = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/etcdserverpb.KV/Range"],
      [":authority", "127.0.0.1:2379"],
      ["content-type", "application/grpc+proto"],
      ["te", "trailers"],
      ["token", "x".repeat(300)],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(fields))).toEqual(fields);
  });

  it("refuses an index that no table holds", () => {
    expect(() => new HpackDecoder().decode(Uint8Array.from([0xbe]))).toThrow(/no entry 62/);
  });

  it("refuses a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE: COMPRESSION_ERROR (RFC 7541 section 6.3)", () => {
    // An update to 5,000 (5-bit prefix: 31, then 4,969 in two bytes) against the 4,096 announced.
    expect(h2Code(() => new HpackDecoder(4096).decode(Uint8Array.from([0x3f, 0xe9, 0x26])))).toBe(
      E.COMPRESSION_ERROR,
    );
  });

  it("refuses a table size update after a field: COMPRESSION_ERROR (RFC 7541 section 4.2)", () => {
    expect(h2Code(() => new HpackDecoder().decode(Uint8Array.from([0x88, 0x20])))).toBe(
      E.COMPRESSION_ERROR,
    );
  });

  it("takes updates at the start of a block, down and back up to the limit (RFC 7541 section 4.2)", () => {
    const d = new HpackDecoder(4096);
    // 0, then 4,096 (31 + 4,065), then ":status: 200".
    expect(d.decode(Uint8Array.from([0x20, 0x3f, 0xe1, 0x1f, 0x88]))).toEqual([[":status", "200"]]);
    // The table holds entries again: a literal with indexing, then its index (62).
    expect(d.decode(Uint8Array.from([0x40, 1, 0x78, 1, 0x79, 0xbe]))).toEqual([
      ["x", "y"],
      ["x", "y"],
    ]);
  });

  it("stops a header list past its limit before building it, 32 bytes counted per field (RFC 7541 section 4.1)", () => {
    // "x: y" counts 34; a list of 100 of them is 3,400 bytes.
    const block = Uint8Array.from([0x40, 1, 0x78, 1, 0x79, ...new Array(99).fill(0xbe)]);
    expect(new HpackDecoder().decode(block, 3400)).toHaveLength(100);
    expect(h2Code(() => new HpackDecoder().decode(block, 3399))).toBe(E.ENHANCE_YOUR_CALM);
  });

  it("reports broken blocks as COMPRESSION_ERROR (RFC 9113 section 4.3)", () => {
    for (const bad of [[0x80], [0xbe], [0x0f], [0x00, 0x05, 0x61]]) {
      expect(h2Code(() => new HpackDecoder().decode(Uint8Array.from(bad)))).toBe(
        E.COMPRESSION_ERROR,
      );
    }
  });
});

/** The HTTP/2 error code of what `f` threw. */
function h2Code(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return (e as { h2Code?: number }).h2Code;
  }
  return undefined;
}
