import { describe, expect, it } from "vitest";
import { FakeClock } from "../../test/fakes/fake-clock.js";
import { EndpointPool } from "./endpoint-pool.js";
import { HealthProbe, type Probe } from "./health-probe.js";

const [a, b] = ["http://a:2379", "http://b:2379"] as const;

/**
 * A probe that answers after `ms[url]` clock milliseconds (never, for Infinity), failing for
 * the URLs in `failing`, and honours its signal as a real RPC does.
 */
function fakeProbe(clock: FakeClock, ms: Record<string, number>, failing = new Set<string>()) {
  const calls: Array<{ url: string; at: number; signal: AbortSignal }> = [];
  const probe: Probe = (url, signal) => {
    calls.push({ url, at: clock.now(), signal });
    return new Promise((resolve, reject) => {
      const wait = ms[url] ?? 0;
      const timer =
        wait === Number.POSITIVE_INFINITY
          ? undefined
          : clock.setTimeout(
              () => (failing.has(url) ? reject(new Error(`${url} has no leader`)) : resolve()),
              wait,
            );
      signal.addEventListener(
        "abort",
        () => {
          if (timer !== undefined) clock.clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };
  const count = (url: string) => calls.filter((c) => c.url === url).length;
  return { probe, calls, count };
}

function setup(ms: Record<string, number>, failing?: Set<string>) {
  const clock = new FakeClock();
  const pool = new EndpointPool([a, b], clock);
  const fake = fakeProbe(clock, ms, failing);
  const hp = new HealthProbe(pool, fake.probe, { intervalMs: 100, timeoutMs: 1_000, clock });
  return { clock, pool, hp, ...fake };
}

describe("a round of probes", () => {
  it("probes every endpoint at start and reports each to the pool with its latency", async () => {
    const { clock, pool, hp, calls } = setup({ [a]: 10, [b]: 30 }, new Set([b]));
    hp.start();
    expect(calls.map((c) => c.url)).toEqual([a, b]);
    await clock.advance(30);
    expect(pool.get(a)).toMatchObject({ health: "healthy", latencyMs: 10 });
    expect(pool.get(b)?.health).toBe("unhealthy");
    expect(pool.get(b)?.lastError?.message).toBe(`${b} has no leader`);
    hp.stop();
  });

  it("counts a probe with no answer within timeoutMs as unhealthy, and aborts it", async () => {
    const { clock, pool, hp, calls } = setup({ [a]: 0, [b]: Number.POSITIVE_INFINITY });
    hp.start();
    await clock.advance(999);
    expect(pool.get(b)?.health).toBe("unknown");
    await clock.advance(1);
    expect(pool.get(b)?.health).toBe("unhealthy");
    expect(pool.get(b)?.lastError?.message).toContain("no answer within 1000 ms");
    expect(calls.find((c) => c.url === b)?.signal.aborted).toBe(true);
    hp.stop();
  });
});

describe("the schedule", () => {
  it("starts the next round intervalMs after the slowest probe of the last one answered", async () => {
    const { clock, hp, calls } = setup({ [a]: 5, [b]: 50 });
    hp.start();
    await clock.advance(149);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls.map((c) => [c.url, c.at])).toEqual([
      [a, 0],
      [b, 0],
      [a, 150],
      [b, 150],
    ]);
    hp.stop();
  });

  it("runs one loop when started twice", async () => {
    const { clock, hp, count } = setup({ [a]: 0, [b]: 0 });
    hp.start();
    hp.start();
    await clock.advance(250);
    expect(count(a)).toBe(3);
    hp.stop();
  });
});

describe("stop", () => {
  it("clears the timer between rounds", async () => {
    const { clock, hp, count } = setup({ [a]: 0, [b]: 0 });
    hp.start();
    await clock.advance(10);
    hp.stop();
    expect(clock.timers.size).toBe(0);
    await clock.advance(1_000);
    expect(count(a)).toBe(1);
  });

  it("aborts the probes in flight and reports none of them", async () => {
    const { clock, pool, hp, calls } = setup({ [a]: 50, [b]: 50 });
    hp.start();
    await clock.advance(10);
    hp.stop();
    await clock.advance(1_000);
    expect(calls.every((c) => c.signal.aborted)).toBe(true);
    expect(pool.list().map((s) => s.health)).toEqual(["unknown", "unknown"]);
    expect(clock.timers.size).toBe(0);
  });

  // Regression (a bug this spec found, now fixed): round() checks only `this.stopped` after its probes settle. After stop() and a new
  // start() while a round is in flight, the aborted round sees stopped === false and schedules
  // a timer of its own: two probe loops run, and stop() can clear only one of their timers.
  it("leaves one probe loop after stop() and start() during a round", async () => {
    const { clock, hp, count } = setup({ [a]: 50, [b]: 50 });
    hp.start();
    await clock.advance(10);
    hp.stop();
    hp.start();
    await clock.advance(50);
    const before = count(a);
    await clock.advance(150);
    expect(count(a) - before).toBe(1);
    hp.stop();
    expect(clock.timers.size).toBe(0);
  });
});

describe("probeAll", () => {
  it("resolves once every endpoint answered, without starting the loop", async () => {
    const { clock, pool, hp } = setup({ [a]: 10, [b]: 20 });
    let done = false;
    const p = hp.probeAll().then(() => {
      done = true;
    });
    await clock.advance(19);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(pool.list().map((s) => s.health)).toEqual(["healthy", "healthy"]);
    expect(clock.timers.size).toBe(0);
  });

  it("reports nothing for probes ended by the caller's signal", async () => {
    const { clock, pool, hp } = setup({ [a]: 50, [b]: 50 });
    const abort = new AbortController();
    const p = hp.probeAll(abort.signal);
    await clock.advance(10);
    abort.abort(new Error("caller gave up"));
    await p;
    expect(pool.list().map((s) => s.health)).toEqual(["unknown", "unknown"]);
    expect(clock.timers.size).toBe(0);
  });
});
