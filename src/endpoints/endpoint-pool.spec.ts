import { describe, expect, it } from "vitest";
import { FakeClock } from "../../test/fakes/fake-clock.js";
import { EndpointPool, type EndpointState } from "./endpoint-pool.js";

const [a, b, c] = ["http://a:2379", "http://b:2379", "http://c:2379"] as const;
const pool = (clock = new FakeClock()) => new EndpointPool([a, b, c], clock);
const health = (p: EndpointPool) => p.list().map((s) => s.health);

describe("a new pool", () => {
  it("refuses an empty list", () => {
    expect(() => new EndpointPool([])).toThrow(RangeError);
  });

  it("knows nothing of its endpoints, pins the first and tries them in order", () => {
    const p = pool();
    expect(p.list()).toEqual(
      [a, b, c].map((url) => ({
        url,
        health: "unknown",
        lastError: undefined,
        latencyMs: undefined,
        checkedAt: undefined,
      })),
    );
    expect(p.pinned).toBe(a);
    expect(p.order()).toEqual([a, b, c]);
  });
});

describe("reportSuccess", () => {
  it("marks the endpoint healthy with its latency and the clock's time, clearing its error", () => {
    const clock = new FakeClock();
    const p = pool(clock);
    p.reportFailure(b, new Error("down"));
    clock.t = 42;
    p.reportSuccess(b, 7);
    expect(p.get(b)).toEqual({
      url: b,
      health: "healthy",
      lastError: undefined,
      latencyMs: 7,
      checkedAt: 42,
    });
  });

  it("keeps the last latency when a report has none", () => {
    const p = pool();
    p.reportSuccess(a, 9);
    p.reportSuccess(a);
    expect(p.get(a)?.latencyMs).toBe(9);
  });

  it("keeps the pin on a working endpoint when another succeeds", () => {
    const p = pool();
    p.reportSuccess(c);
    expect(p.pinned).toBe(a);
  });

  it("moves the pin to an endpoint that succeeds while the pinned one is unhealthy", () => {
    const p = pool();
    p.reportFailure(a, new Error("down"));
    p.reportFailure(b, new Error("down"));
    p.reportFailure(c, new Error("down"));
    p.reportSuccess(b);
    expect(p.pinned).toBe(b);
  });

  it("ignores an endpoint the pool does not hold", () => {
    const p = pool();
    p.reportSuccess("http://elsewhere:2379");
    expect(health(p)).toEqual(["unknown", "unknown", "unknown"]);
  });
});

describe("reportFailure", () => {
  it("marks the endpoint unhealthy with its error, keeping its last latency", () => {
    const p = pool();
    p.reportSuccess(b, 5);
    const error = new Error("refused");
    p.reportFailure(b, error);
    expect(p.get(b)).toMatchObject({ health: "unhealthy", lastError: error, latencyMs: 5 });
  });

  it("moves the pin from a failed pinned endpoint to the next one not known to be unhealthy", () => {
    const p = pool();
    p.reportFailure(b, new Error("down"));
    p.reportFailure(a, new Error("down"));
    expect(p.pinned).toBe(c);
    expect(p.order()).toEqual([c, a, b]);
  });

  it("leaves the pin alone when another endpoint fails, and tries that one last", () => {
    const p = pool();
    p.reportFailure(b, new Error("down"));
    expect(p.pinned).toBe(a);
    expect(p.order()).toEqual([a, c, b]);
  });

  it("still lists every endpoint, round-robin from the pin, when all are unhealthy", () => {
    const p = pool();
    for (const url of [a, b, c]) p.reportFailure(url, new Error("down"));
    expect(p.pinned).toBe(a);
    expect(p.order()).toEqual([a, b, c]);
    p.reportFailure(a, new Error("still down"));
    expect(p.pinned).toBe(b);
    expect(p.order()).toEqual([b, c, a]);
  });
});

describe("subscribe", () => {
  it("tells a listener of each change with the new state and every state", () => {
    const p = pool();
    const seen: Array<[EndpointState, readonly EndpointState[]]> = [];
    p.subscribe((changed, all) => seen.push([changed, all]));
    p.reportSuccess(a, 1);
    p.reportFailure(c, new Error("x"));
    expect(seen.map(([s]) => [s.url, s.health])).toEqual([
      [a, "healthy"],
      [c, "unhealthy"],
    ]);
    expect(seen[1]?.[1]).toBe(p.list());
  });

  it("stops after unsubscribe", () => {
    const p = pool();
    let calls = 0;
    const off = p.subscribe(() => calls++);
    p.reportSuccess(a);
    off();
    p.reportSuccess(b);
    expect(calls).toBe(1);
  });

  it("does not let a throwing listener break a report or the listeners after it", () => {
    const p = pool();
    let later = 0;
    p.subscribe(() => {
      throw new Error("listener bug");
    });
    p.subscribe(() => later++);
    expect(() => p.reportFailure(a, new Error("down"))).not.toThrow();
    expect(later).toBe(1);
    expect(p.pinned).toBe(b);
  });
});

describe("replace", () => {
  it("keeps what is known of the endpoints that stay, and starts the new ones fresh", () => {
    const p = pool();
    p.reportSuccess(b, 3);
    const d = "http://d:2379";
    p.replace([b, d]);
    expect(p.list().map((s) => [s.url, s.health, s.latencyMs])).toEqual([
      [b, "healthy", 3],
      [d, "unknown", undefined],
    ]);
  });

  it("keeps the pin on the same URL when it stays", () => {
    const p = pool();
    p.reportFailure(a, new Error("down"));
    expect(p.pinned).toBe(b);
    p.replace([c, b]);
    expect(p.pinned).toBe(b);
  });

  it("pins the first endpoint when the pinned one went away", () => {
    const p = pool();
    p.replace([c, b]);
    expect(p.pinned).toBe(c);
  });

  it("ignores an empty list", () => {
    const p = pool();
    p.replace([]);
    expect(p.list().map((s) => s.url)).toEqual([a, b, c]);
  });

  it("tells listeners of the new list", () => {
    const p = pool();
    const lists: string[][] = [];
    p.subscribe((_, all) => lists.push(all.map((s) => s.url)));
    p.replace([c]);
    expect(lists).toEqual([[c]]);
  });

  // Regression (a bug this spec found, now fixed): replace() calls listeners without the try/catch that transition() has, so a
  // listener's bug makes replace() (and so Etcd.sync()) throw after the list was replaced.
  it("does not let a throwing listener break replace()", () => {
    const p = pool();
    p.subscribe(() => {
      throw new Error("listener bug");
    });
    expect(() => p.replace([c])).not.toThrow();
  });
});
