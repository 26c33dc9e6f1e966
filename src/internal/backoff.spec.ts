import { describe, expect, it } from "vitest";
import { FakeClock } from "../../test/fakes/fake-clock.js";
import { backoffDelay, sleep } from "./backoff.js";

const settled = async (p: Promise<unknown>) => {
  let state = "pending";
  p.then(
    () => {
      state = "resolved";
    },
    () => {
      state = "rejected";
    },
  );
  await Promise.resolve();
  await Promise.resolve();
  return state;
};

describe("backoffDelay", () => {
  const noJitter = { jitter: 0 };

  it("grows by the factor from the base on each attempt", () => {
    const o = { baseMs: 100, factor: 3, maxMs: 1_000_000, ...noJitter };
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, o))).toEqual([100, 300, 900, 2700]);
  });

  it("defaults to 50 ms doubling, capped at 2 s", () => {
    expect([0, 1, 5, 6, 100].map((n) => backoffDelay(n, noJitter))).toEqual([
      50, 100, 1600, 2000, 2000,
    ]);
  });

  it("caps every delay at maxMs, even for huge attempt numbers", () => {
    expect(backoffDelay(10_000, { baseMs: 10, maxMs: 500, ...noJitter })).toBe(500);
  });

  it("treats a negative attempt as the first", () => {
    expect(backoffDelay(-3, { baseMs: 70, ...noJitter })).toBe(70);
  });

  it("takes off up to the jitter's share of the delay, as the random source says", () => {
    const o = { baseMs: 1000, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(0, { ...o, random: () => 0 })).toBe(1000);
    expect(backoffDelay(0, { ...o, random: () => 0.5 })).toBe(750);
    expect(backoffDelay(0, { ...o, random: () => 0.9 })).toBe(550);
  });

  it("clamps the jitter to 0..1", () => {
    expect(backoffDelay(0, { baseMs: 100, jitter: 5, random: () => 0.25 })).toBe(75);
    expect(backoffDelay(0, { baseMs: 100, jitter: -1, random: () => 0.9 })).toBe(100);
  });
});

describe("sleep", () => {
  it("resolves when the clock reaches the delay, not before", async () => {
    const clock = new FakeClock();
    const p = sleep(100, undefined, clock);
    clock.advanceSync(99);
    expect(await settled(p)).toBe("pending");
    clock.advanceSync(1);
    expect(await settled(p)).toBe("resolved");
  });

  it("rejects with the signal's reason when it fires first, and clears its timer", async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const p = sleep(100, abort.signal, clock);
    const reason = new Error("stop");
    abort.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(clock.timers.size).toBe(0);
  });

  it("rejects at once, without a timer, when the signal has already fired", async () => {
    const clock = new FakeClock();
    const reason = new Error("already");
    await expect(sleep(100, AbortSignal.abort(reason), clock)).rejects.toBe(reason);
    expect(clock.timers.size).toBe(0);
  });

  it("stops listening to the signal once it has resolved", async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const p = sleep(10, abort.signal, clock);
    clock.advanceSync(10);
    await p;
    abort.abort(new Error("late"));
    expect(await settled(p)).toBe("resolved");
  });
});
