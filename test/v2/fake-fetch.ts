// A fake fetch for the v2 unit specs: records each request and answers from a handler, and
// honours the request's AbortSignal before and after the headers, as fetch does.
import type { FetchFn } from "../../src/v2/http.js";

export interface FakeRequest {
  /** The endpoint part of the URL ("http://a:2379"). */
  endpoint: string;
  url: URL;
  method: string;
  headers: Headers;
  /** The form-encoded body, parsed. */
  form: URLSearchParams | undefined;
  init: RequestInit;
  signal: AbortSignal;
}

export type Handler = (req: FakeRequest) => Response | Promise<Response>;

export function fakeFetch(handler: Handler): { fetch: FetchFn; calls: FakeRequest[] } {
  const calls: FakeRequest[] = [];
  const fetch: FetchFn = (input, init) => {
    const url = new URL(input);
    const signal = init.signal ?? new AbortController().signal;
    const body = typeof init.body === "string" ? init.body : undefined;
    const req: FakeRequest = {
      endpoint: url.origin,
      url,
      method: init.method ?? "GET",
      headers: new Headers(init.headers),
      form: body === undefined ? undefined : new URLSearchParams(body),
      init,
      signal,
    };
    calls.push(req);
    return new Promise<Response>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      Promise.resolve()
        .then(() => handler(req))
        .then(resolve, reject);
    });
  };
  return { fetch, calls };
}

/** An etcd JSON answer, with X-Etcd-Index unless etcdIndex is null (a browser, cross-origin). */
export function etcdJson(status: number, body: unknown, etcdIndex: number | null = 7): Response {
  const headers = new Headers({ "content-type": "application/json" });
  if (etcdIndex !== null) headers.set("x-etcd-index", String(etcdIndex));
  return new Response(JSON.stringify(body), { status, headers });
}

export function v2Error(status: number, errorCode: number, message: string, cause = "", index = 7) {
  return etcdJson(status, { errorCode, message, cause, index }, index);
}

/** A node as etcd sends it. */
export function node(key: string, value: string, index: number) {
  return { key, value, modifiedIndex: index, createdIndex: index };
}

/**
 * Headers now, the JSON body only when `body` resolves; the body read fails if the request's
 * signal fires first, as with fetch.
 */
export function delayedBody(signal: AbortSignal, body: Promise<unknown>, etcdIndex = 7): Response {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const onAbort = () => controller.error(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      body.then(
        (b) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return;
          if (b !== undefined) controller.enqueue(new TextEncoder().encode(JSON.stringify(b)));
          controller.close();
        },
        (e) => controller.error(e),
      );
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "application/json", "x-etcd-index": String(etcdIndex) },
  });
}

/** Never answers; fetch rejects when the signal fires. */
export function hang(): Promise<Response> {
  return new Promise(() => {});
}

/** What Node's fetch throws when a connection is refused (the request never left). */
export function refused(): never {
  throw new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
  });
}

/** What Node's fetch throws when a connection breaks after the request went out. */
export function reset(): never {
  throw new TypeError("fetch failed", {
    cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
