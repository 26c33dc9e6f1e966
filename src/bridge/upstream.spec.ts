import { describe, expect, it } from "vitest";
import { grpcTimeout } from "./upstream.js";

describe("grpcTimeout", () => {
  it("writes at most 8 digits and a unit, never less than the time left", () => {
    expect(grpcTimeout(1500)).toBe("1500m");
    expect(grpcTimeout(0.2)).toBe("1m");
    expect(grpcTimeout(99_999_999)).toBe("99999999m");
    expect(grpcTimeout(100_000_000)).toBe("100000S");
    expect(grpcTimeout(99_999_999_000)).toBe("99999999S");
    expect(grpcTimeout(100_000_000_001)).toBe("27778H");
    expect(grpcTimeout(1e15)).toBe("99999999H");
  });
});
