import { describe, expect, it } from "vitest";
import { AsyncQueue } from "./async-queue.js";

describe("AsyncQueue", () => {
  it("delivers pushed values in order, before and after the consumer waits", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    const pending = q.next();
    const later = q.next();
    q.push(2);
    expect(await pending).toEqual({ value: 1, done: false });
    expect(await later).toEqual({ value: 2, done: false });
  });

  it("ends after the buffered values", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    q.end();
    const seen: number[] = [];
    for await (const v of q) seen.push(v);
    expect(seen).toEqual([1, 2]);
  });

  it("fails after the buffered values, once", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.fail(new Error("boom"));
    expect(await q.next()).toEqual({ value: 1, done: false });
    await expect(q.next()).rejects.toThrow("boom");
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it("runs onReturn once when the consumer leaves early, and drops what is pushed later", async () => {
    let returned = 0;
    const q = new AsyncQueue<number>(() => returned++);
    q.push(1);
    for await (const v of q) {
      expect(v).toBe(1);
      break;
    }
    await q.return();
    q.push(2);
    expect(returned).toBe(1);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it("wakes a waiting consumer on end and on fail", async () => {
    const a = new AsyncQueue<number>();
    const pa = a.next();
    a.end();
    expect(await pa).toEqual({ value: undefined, done: true });
    const b = new AsyncQueue<number>();
    const pb = b.next();
    b.fail(new Error("x"));
    await expect(pb).rejects.toThrow("x");
  });
});
