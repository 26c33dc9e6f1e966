import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors/etcd-error.js";
import { checkBytes, hex, prefixEnd, toBytes, toText } from "./bytes.js";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("toBytes and toText", () => {
  it("encodes text as UTF-8 and decodes it back", () => {
    expect(toBytes("é/€")).toEqual(bytes(0xc3, 0xa9, 0x2f, 0xe2, 0x82, 0xac));
    expect(toText(toBytes("é/€"))).toBe("é/€");
  });

  it("passes bytes through as the same array", () => {
    const b = bytes(1, 2, 3);
    expect(toBytes(b)).toBe(b);
  });
});

describe("checkBytes", () => {
  it("accepts text and bytes, including empty ones", () => {
    expect(checkBytes("ab", "key")).toEqual(bytes(0x61, 0x62));
    expect(checkBytes("", "key")).toEqual(bytes());
    expect(checkBytes(bytes(0), "value")).toEqual(bytes(0));
  });

  it.each([
    [1, "number"],
    [undefined, "undefined"],
    [null, "null"],
    [[1, 2], "object"],
  ])("refuses %j with an InvalidInputError naming the field and the type", (input, type) => {
    let error: unknown;
    try {
      checkBytes(input, "value");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("value");
    expect((error as InvalidInputError).message).toContain(`got ${type}`);
  });
});

describe("prefixEnd", () => {
  it("increments the last byte", () => {
    expect(prefixEnd(toBytes("abc"))).toEqual(toBytes("abd"));
  });

  it("drops trailing 0xff bytes and increments the byte before them", () => {
    expect(prefixEnd(bytes(0x61, 0xff, 0xff))).toEqual(bytes(0x62));
    expect(prefixEnd(bytes(0x01, 0xfe, 0xff))).toEqual(bytes(0x01, 0xff));
  });

  it("gives [0], the end of the keyspace, for an empty prefix or one of only 0xff", () => {
    expect(prefixEnd(bytes())).toEqual(bytes(0));
    expect(prefixEnd(bytes(0xff, 0xff))).toEqual(bytes(0));
  });

  it("leaves the prefix itself unchanged", () => {
    const prefix = bytes(0x61, 0x62);
    prefixEnd(prefix);
    expect(prefix).toEqual(bytes(0x61, 0x62));
  });
});

describe("hex", () => {
  it("writes each byte as two lowercase digits", () => {
    expect(hex(bytes(0, 0x0f, 0xab, 0xff))).toBe("000fabff");
    expect(hex(bytes())).toBe("");
  });
});
