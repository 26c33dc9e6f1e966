import { describe, expect, it } from "vitest";
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
});
