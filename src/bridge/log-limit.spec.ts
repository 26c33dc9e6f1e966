import { describe, expect, it } from "vitest";
import { RateLimitedLog } from "./log-limit.js";

describe("RateLimitedLog", () => {
  it("writes one line per key per interval, then says how many it held back", () => {
    const lines: string[] = [];
    let now = 0;
    const log = new RateLimitedLog(
      (l) => lines.push(l),
      1000,
      2,
      () => now,
    );
    for (let i = 0; i < 5; i++) log.write("a", "refused a");
    log.write("b", "refused b");
    expect(lines).toEqual(["refused a", "refused b"]);
    now = 1000;
    log.write("a", "refused a");
    expect(lines.at(-1)).toBe("refused a (4 more since the last such line)");
  });

  it("keeps a bounded table of keys", () => {
    const lines: string[] = [];
    const log = new RateLimitedLog(
      (l) => lines.push(l),
      1000,
      2,
      () => 0,
    );
    log.write("a", "a");
    log.write("b", "b");
    log.write("c", "c");
    // The table started over at "c", so "a" is written again.
    log.write("a", "a");
    expect(lines).toEqual(["a", "b", "c", "a"]);
  });
});
