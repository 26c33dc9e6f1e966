import { describe, expect, it } from "vitest";
import { FakeClock } from "../../test/fakes/fake-clock.js";
import { ContextError } from "../errors/etcd-error.js";
import { Deadline, withDeadline } from "./deadline.js";

describe("Deadline without a limit", () => {
  it("has no expiry and sets no timer, for timeoutMs undefined or 0", () => {
    const clock = new FakeClock(1_000);
    for (const timeoutMs of [undefined, 0]) {
      const d = new Deadline(undefined, timeoutMs, clock);
      expect(d.expiresAt).toBeUndefined();
      expect(d.remainingMs()).toBeUndefined();
      expect(d.signal.aborted).toBe(false);
    }
    expect(clock.timers.size).toBe(0);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses timeoutMs %s", (timeoutMs) => {
    expect(() => new Deadline(undefined, timeoutMs, new FakeClock(1_000))).toThrow(RangeError);
  });
});

describe("Deadline with a time limit", () => {
  it("counts down on the clock and fires deadline-exceeded when it passes", () => {
    const clock = new FakeClock(1_000);
    const d = new Deadline(undefined, 500, clock);
    expect(d.expiresAt).toBe(1_500);
    clock.advanceSync(200);
    expect(d.remainingMs()).toBe(300);
    expect(d.signal.aborted).toBe(false);
    expect(() => d.throwIfDone()).not.toThrow();

    clock.advanceSync(300);
    expect(d.signal.aborted).toBe(true);
    expect(d.error).toBeInstanceOf(ContextError);
    expect(d.error?.reason).toBe("deadline-exceeded");
    expect(d.error?.message).toContain("500 ms");
    expect(d.signal.reason).toBe(d.error);
    expect(() => d.throwIfDone()).toThrow(d.error);
  });

  it("never reports less than 0 ms left", () => {
    const clock = new FakeClock(1_000);
    const d = new Deadline(undefined, 10, clock);
    clock.advanceSync(50);
    expect(d.remainingMs()).toBe(0);
  });

  it("clears its timer on dispose, so it never fires", () => {
    const clock = new FakeClock(1_000);
    const d = new Deadline(undefined, 100, clock);
    expect(clock.timers.size).toBe(1);
    d.dispose();
    expect(clock.timers.size).toBe(0);
    clock.advanceSync(1_000);
    expect(d.signal.aborted).toBe(false);
  });
});

describe("Deadline with the caller's signal", () => {
  it("fires canceled, with the caller's reason as cause, when the signal fires", () => {
    const parent = new AbortController();
    const d = new Deadline(parent.signal, 100, new FakeClock(1_000));
    const why = new Error("user left");
    parent.abort(why);
    expect(d.signal.aborted).toBe(true);
    expect(d.error?.reason).toBe("canceled");
    expect(d.error?.cause).toBe(why);
  });

  it("is done from the start when the signal has already fired, with no timer", () => {
    const clock = new FakeClock(1_000);
    const d = new Deadline(AbortSignal.abort(new Error("before")), 100, clock);
    expect(d.signal.aborted).toBe(true);
    expect(d.error?.reason).toBe("canceled");
    expect(clock.timers.size).toBe(0);
  });

  it("keeps the first reason: a later abort after the deadline changes nothing", () => {
    const clock = new FakeClock(1_000);
    const parent = new AbortController();
    const d = new Deadline(parent.signal, 100, clock);
    clock.advanceSync(100);
    parent.abort();
    expect(d.error?.reason).toBe("deadline-exceeded");
  });

  it("stops listening to the signal on dispose", () => {
    const parent = new AbortController();
    const d = new Deadline(parent.signal, undefined, new FakeClock(1_000));
    d.dispose();
    parent.abort();
    expect(d.signal.aborted).toBe(false);
    expect(d.error).toBeUndefined();
  });
});

describe("withDeadline", () => {
  it("returns fn's result and disposes the deadline", async () => {
    const clock = new FakeClock(1_000);
    const result = await withDeadline({ timeoutMs: 100 }, async () => "ok", clock);
    expect(result).toBe("ok");
    expect(clock.timers.size).toBe(0);
  });

  it("does not run fn when the signal has already fired", async () => {
    let ran = false;
    const p = withDeadline({ signal: AbortSignal.abort() }, async () => {
      ran = true;
    });
    await expect(p).rejects.toMatchObject({ kind: "context", reason: "canceled" });
    expect(ran).toBe(false);
  });

  it("throws the ContextError rather than what fn threw once the deadline passed", async () => {
    const clock = new FakeClock(1_000);
    const p = withDeadline(
      { timeoutMs: 50 },
      (d) =>
        new Promise((_, reject) => {
          d.signal.addEventListener("abort", () => reject(new Error("transport: aborted")));
        }),
      clock,
    );
    clock.advanceSync(50);
    await expect(p).rejects.toMatchObject({ kind: "context", reason: "deadline-exceeded" });
  });

  it("passes fn's own error through while the deadline has not fired", async () => {
    const clock = new FakeClock(1_000);
    const boom = new Error("boom");
    await expect(
      withDeadline(
        { timeoutMs: 50 },
        async () => {
          throw boom;
        },
        clock,
      ),
    ).rejects.toBe(boom);
    expect(clock.timers.size).toBe(0);
  });
});
