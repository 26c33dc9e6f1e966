import { describe, expect, it } from "vitest";
import { KV } from "../gen/etcdserverpb/rpc_ref.js";
import { lazyTransport } from "./lazy.js";
import type { EndpointTransport, EtcdTransport, TransportFactory } from "./protocol.js";

// Any method will do: the fake transport answers every call with its endpoint's URL.
const method = KV.methods.range;
const signal = new AbortController().signal;

function fakeFactory(log: string[]): TransportFactory {
  return ({ baseUrl }): EndpointTransport => {
    log.push(`make ${baseUrl}`);
    const transport = {
      unary: async () => baseUrl,
      stream: async () => baseUrl,
    } as unknown as EtcdTransport;
    return { transport, close: () => log.push(`close ${baseUrl}`) };
  };
}

describe("lazyTransport", () => {
  it("loads the protocol once, on the first call, and makes one transport per endpoint", async () => {
    const log: string[] = [];
    let loads = 0;
    const factory = lazyTransport(async () => {
      loads++;
      return fakeFactory(log);
    });
    const a = factory({ baseUrl: "http://a" });
    const b = factory({ baseUrl: "http://b" });
    expect(loads).toBe(0);
    const call = (t: EndpointTransport) =>
      t.transport.unary(method, { signal }, {}) as Promise<unknown>;
    expect(await call(a)).toBe("http://a");
    expect(await call(a)).toBe("http://a");
    expect(await call(b)).toBe("http://b");
    expect(loads).toBe(1);
    expect(log).toEqual(["make http://a", "make http://b"]);
    a.close();
    expect(log).toContain("close http://a");
  });

  it("fails the call when the load fails, and loads again on the next", async () => {
    let attempt = 0;
    const factory = lazyTransport(async () => {
      if (attempt++ === 0) throw new TypeError("Failed to fetch dynamically imported module");
      return fakeFactory([]);
    });
    const t = factory({ baseUrl: "http://a" });
    const call = () =>
      t.transport.stream(method, { signal }, (async function* () {})()) as Promise<unknown>;
    await expect(call()).rejects.toThrow(/dynamically imported/);
    expect(await call()).toBe("http://a");
  });

  it("makes no transport for an endpoint closed while the protocol loaded", async () => {
    const log: string[] = [];
    let release: (f: TransportFactory) => void = () => {};
    const factory = lazyTransport(
      () =>
        new Promise<TransportFactory>((r) => {
          release = r;
        }),
    );
    const t = factory({ baseUrl: "http://a" });
    const pending = t.transport.unary(method, { signal }, {});
    t.close();
    release(fakeFactory(log));
    await expect(pending).rejects.toThrow(/closed/);
    expect(log).toEqual([]);
  });
});
