import { describe, expect, it } from "vitest";
import { FakeClock, flush } from "../../test/fakes/fake-clock.js";
import { ClusterError, ContextError } from "../errors/etcd-error.js";
import { Deadline } from "../internal/deadline.js";
import { EndpointPool } from "./endpoint-pool.js";
import { type AttemptVerdict, type FailoverOptions, withFailover } from "./failover.js";

/** An attempt's failure, carrying what classify should make of it. */
class Failure extends Error {
  constructor(
    message: string,
    readonly endpointFailed = true,
    readonly maybeSent = false,
  ) {
    super(message);
  }
}

const classify = (e: unknown): AttemptVerdict => {
  if (!(e instanceof Failure)) return { error: e as Error, endpointFailed: false, maybeSent: true };
  return { error: e, endpointFailed: e.endpointFailed, maybeSent: e.maybeSent };
};

const [a, b, c] = ["http://a:2379", "http://b:2379", "http://c:2379"] as const;

function setup(opts: Partial<FailoverOptions> = {}, timeoutMs?: number, signal?: AbortSignal) {
  const clock = new FakeClock();
  const pool = new EndpointPool([a, b, c], clock);
  const deadline = new Deadline(signal, timeoutMs, clock);
  const tried: string[] = [];
  const options: FailoverOptions = {
    idempotent: true,
    classify,
    clock,
    retry: { backoff: { baseMs: 100, jitter: 0 } },
    ...opts,
  };
  const run = <T>(attempt: (endpoint: string, signal: AbortSignal) => Promise<T>) =>
    withFailover(pool, deadline, options, (endpoint, s) => {
      tried.push(endpoint);
      return attempt(endpoint, s);
    });
  return { clock, pool, deadline, tried, run };
}

/** An attempt that answers only when its signal fires, rejecting with the reason. */
const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
  );

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
}

describe("an endpoint that answers", () => {
  it("returns its result from the pinned endpoint, reporting its latency", async () => {
    const { clock, pool, tried, run } = setup();
    const p = run(async () => {
      await clock.advance(25);
      return "value";
    });
    expect(await p).toBe("value");
    expect(tried).toEqual([a]);
    expect(pool.get(a)).toMatchObject({ health: "healthy", latencyMs: 25 });
  });

  it("fails the call at once with an answer that is the caller's, marking the endpoint healthy", async () => {
    const { pool, tried, run } = setup();
    const answer = new Failure("key not found", false, true);
    expect(await failure(run(() => Promise.reject(answer)))).toBe(answer);
    expect(tried).toEqual([a]);
    expect(pool.get(a)?.health).toBe("healthy");
  });
});

describe("an endpoint that fails", () => {
  it("moves an idempotent call to the next endpoint and the pin with it", async () => {
    const { pool, tried, run } = setup();
    const down = new Failure("refused", true, true);
    const result = await run(async (endpoint) => {
      if (endpoint === a) throw down;
      return endpoint;
    });
    expect(result).toBe(b);
    expect(tried).toEqual([a, b]);
    expect(pool.get(a)).toMatchObject({ health: "unhealthy", lastError: down });
    expect(pool.pinned).toBe(b);
  });

  it("moves a non-idempotent call on only when the request was never sent", async () => {
    const { tried, run } = setup({ idempotent: false });
    const result = await run(async (endpoint) => {
      if (endpoint === a) throw new Failure("ECONNREFUSED", true, false);
      return "written";
    });
    expect(result).toBe("written");
    expect(tried).toEqual([a, b]);
  });

  it("does not repeat a non-idempotent call that may have been sent: maybeApplied", async () => {
    const { tried, run } = setup({ idempotent: false });
    const reset = new Failure("connection reset", true, true);
    const e = await failure(run(() => Promise.reject(reset)));
    expect(e).toBeInstanceOf(ClusterError);
    expect((e as ClusterError).maybeApplied).toBe(true);
    expect((e as ClusterError).errors).toEqual([{ endpoint: a, error: reset }]);
    expect(tried).toEqual([a]);
  });
});

describe("every endpoint failing", () => {
  it("tries two rounds by default, with backoff between, then lists each failure", async () => {
    const { clock, tried, run } = setup();
    const p = failure(run((endpoint) => Promise.reject(new Failure(`${endpoint} down`))));
    await clock.advance(0);
    expect(tried).toEqual([a, b, c]);
    await clock.advance(99);
    expect(tried).toHaveLength(3);
    await clock.advance(1);
    const e = await p;
    expect(e).toBeInstanceOf(ClusterError);
    expect((e as ClusterError).maybeApplied).toBe(false);
    expect((e as ClusterError).errors.map((f) => f.error.message)).toEqual(
      [a, b, c, a, b, c].map((u) => `${u} down`),
    );
    expect(tried).toHaveLength(6);
    expect(clock.timers.size).toBe(0);
  });

  it("stops at maxAttempts, even in the middle of a round", async () => {
    const { tried, run } = setup({ retry: { maxAttempts: 2 } });
    const e = await failure(run(() => Promise.reject(new Failure("down"))));
    expect(e).toBeInstanceOf(ClusterError);
    expect(tried).toEqual([a, b]);
  });

  it("starts no new round once the time budget is spent", async () => {
    const { clock, tried, run } = setup({
      retry: { budgetMs: 1_000, backoff: { baseMs: 100, jitter: 0 } },
    });
    const e = await failure(
      run(async () => {
        await clock.advance(400);
        throw new Failure("slow failure");
      }),
    );
    expect(e).toBeInstanceOf(ClusterError);
    expect(tried).toEqual([a, b, c]);
  });

  it("shortens the backoff to what is left of the budget", async () => {
    const { clock, tried, run } = setup({
      retry: { budgetMs: 150, maxAttempts: 4, backoff: { baseMs: 1_000, jitter: 0 } },
    });
    const p = failure(run(() => Promise.reject(new Failure("down"))));
    await clock.advance(149);
    expect(tried).toHaveLength(3);
    await clock.advance(1);
    await p;
    expect(tried).toEqual([a, b, c, a]);
  });
});

describe("the call's deadline", () => {
  it("ends the call with its ContextError when it passes during an attempt", async () => {
    const { clock, tried, run } = setup({}, 500);
    const p = failure(run((_, signal) => hang(signal)));
    await clock.advance(500);
    const e = await p;
    expect(e).toBeInstanceOf(ContextError);
    expect((e as ContextError).reason).toBe("deadline-exceeded");
    expect(tried).toEqual([a]);
  });

  it("ends the call when it passes during the backoff between rounds", async () => {
    const { clock, tried, run } = setup({ retry: { backoff: { baseMs: 1_000, jitter: 0 } } }, 300);
    const p = failure(run(() => Promise.reject(new Failure("down"))));
    await clock.advance(300);
    const e = await p;
    expect(e).toMatchObject({ kind: "context", reason: "deadline-exceeded" });
    expect(tried).toEqual([a, b, c]);
  });

  it("does not start when the caller's signal has already fired", async () => {
    const { tried, run } = setup({}, undefined, AbortSignal.abort());
    const e = await failure(run(async () => "never"));
    expect(e).toMatchObject({ kind: "context", reason: "canceled" });
    expect(tried).toEqual([]);
  });
});

describe("attemptTimeoutMs", () => {
  it("gives up on a silent endpoint after the limit, naming it, and tries the next", async () => {
    const { clock, pool, tried, run } = setup({ attemptTimeoutMs: 200 });
    const p = run((endpoint, signal) => (endpoint === a ? hang(signal) : Promise.resolve("b!")));
    await clock.advance(199);
    expect(tried).toEqual([a]);
    await clock.advance(1);
    expect(await p).toBe("b!");
    expect(tried).toEqual([a, b]);
    const lastError = pool.get(a)?.lastError;
    expect(lastError).toBeInstanceOf(ContextError);
    expect((lastError as ContextError).reason).toBe("deadline-exceeded");
    expect(lastError?.message).toContain(a);
    expect(clock.timers.size).toBe(0);
  });

  it("counts a timed-out write as maybe sent: not repeated", async () => {
    const { clock, tried, run } = setup({ attemptTimeoutMs: 200, idempotent: false });
    const p = failure(run((_, signal) => hang(signal)));
    await clock.advance(200);
    const e = await p;
    expect(e).toBeInstanceOf(ClusterError);
    expect((e as ClusterError).maybeApplied).toBe(true);
    expect(tried).toEqual([a]);
  });

  it("still passes the caller's cancel on to the attempt", async () => {
    const caller = new AbortController();
    const { run } = setup({ attemptTimeoutMs: 200 }, undefined, caller.signal);
    let seen: AbortSignal | undefined;
    const p = failure(
      run((_, signal) => {
        seen = signal;
        return hang(signal);
      }),
    );
    await flush();
    caller.abort(new Error("user left"));
    expect(seen?.aborted).toBe(true);
    expect(await p).toMatchObject({ kind: "context", reason: "canceled" });
  });

  it("without a limit, hands each attempt the call's own signal", async () => {
    const { deadline, run } = setup();
    let seen: AbortSignal | undefined;
    await run(async (_, signal) => {
      seen = signal;
    });
    expect(seen).toBe(deadline.signal);
  });
});
