import type { EndpointPool } from "../endpoints/endpoint-pool.js";
import { type RetryOptions, withFailover } from "../endpoints/failover.js";
import { ClusterError, ContextError, EtcdError, ResponseError } from "../errors/etcd-error.js";
import type { Clock } from "../internal/clock.js";
import type { Deadline } from "../internal/deadline.js";
import { classify, isBodyTimeout } from "./classify.js";
import { bad, decodeV2Error, type RawAnswer } from "./decode.js";
import { HeaderTimer } from "./header-timer.js";

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** One request of the v2 API, before an endpoint is chosen. */
export interface V2Request {
  method: "GET" | "PUT" | "POST" | "DELETE";
  /** The path under the endpoint, e.g. "/v2/keys/foo". */
  path: string;
  query?: URLSearchParams | undefined;
  /** Sent form-encoded, as etcd reads PUT and POST parameters. */
  form?: URLSearchParams | undefined;
  /** Must not run twice: once it may have reached a server, it is not tried on another. */
  oneShot: boolean;
  /** A watch (wait=true): an empty answer means "ask again", not a broken server. */
  longPoll?: boolean;
}

export interface V2HttpOptions {
  pool: EndpointPool;
  fetch: FetchFn;
  clock: Clock;
  /** 0 for no limit. */
  headerTimeoutMs: number;
  authorization: string | undefined;
  retry: RetryOptions | undefined;
}

/**
 * Sends v2 requests over fetch: the pinned endpoint first, the others on failure (see
 * endpoints/failover.ts), each attempt limited until its headers arrive. Resolves with a 2xx
 * answer; anything else is thrown as one of etcd-web's errors.
 */
export class V2Http {
  constructor(private readonly o: V2HttpOptions) {}

  async send(req: V2Request, deadline: Deadline): Promise<RawAnswer> {
    let last = "";
    try {
      return await withFailover(
        this.o.pool,
        deadline,
        {
          idempotent: !req.oneShot,
          classify,
          retry: this.o.retry,
          clock: this.o.clock,
        },
        (endpoint, signal) => {
          last = endpoint;
          return this.attempt(endpoint, req, signal);
        },
      );
    } catch (e) {
      if (e instanceof EtcdError) throw e;
      // A failure that failover passed on as it was: name the endpoint, in etcd-web's terms.
      throw new ClusterError([
        { endpoint: last, error: e instanceof Error ? e : new Error(String(e)) },
      ]);
    }
  }

  private async attempt(endpoint: string, req: V2Request, signal: AbortSignal): Promise<RawAnswer> {
    const query = req.query?.toString();
    const url = `${endpoint}${req.path}${query ? `?${query}` : ""}`;
    const headers: Record<string, string> = {};
    if (this.o.authorization) headers.authorization = this.o.authorization;
    if (req.form) headers["content-type"] = "application/x-www-form-urlencoded";
    const timer = new HeaderTimer(signal, this.o.headerTimeoutMs, this.o.clock);
    try {
      let res: Response;
      try {
        res = await this.o.fetch(url, {
          method: req.method,
          headers,
          ...(req.form ? { body: req.form.toString() } : {}),
          signal: timer.signal,
          cache: "no-store",
        });
      } catch (e) {
        if (!timer.expired) throw e;
        throw new ContextError("deadline-exceeded", {
          endpoint,
          message: `no response headers from ${endpoint} within ${this.o.headerTimeoutMs} ms`,
        });
      }
      // From here on only the call's own signal and deadline limit the body: a watch waits.
      timer.headersArrived();
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        // Node's fetch gives up on a body after 5 silent minutes; a watch then asks again.
        if (!(req.longPoll && res.ok && isBodyTimeout(e))) throw e;
        text = "";
      }
      return answer(endpoint, res, text, req);
    } finally {
      timer.dispose();
    }
  }
}

function answer(endpoint: string, res: Response, text: string, req: V2Request): RawAnswer {
  const a: RawAnswer = {
    endpoint,
    status: res.status,
    contentType: res.headers.get("content-type") ?? undefined,
    json: undefined,
    etcdIndex: etcdIndex(res.headers),
  };
  if (text.trim() !== "") {
    try {
      a.json = JSON.parse(text);
    } catch {
      if (res.status === 404) throw noV2(a, text);
      throw bad(`HTTP ${res.status} with a body that is not JSON: ${snippet(text)}`, a);
    }
  }
  if (res.ok) {
    if (a.json === undefined && !req.longPoll) throw bad(`HTTP ${res.status} with no body`, a);
    return a;
  }
  const v2 = decodeV2Error(a);
  if (v2) throw v2;
  if (res.status === 404) throw noV2(a, text);
  throw bad(`HTTP ${res.status}: ${snippet(text)}`, a);
}

/** What etcd answers on /v2 when it does not serve v2: Go's "404 page not found". */
function noV2(a: RawAnswer, text: string): ResponseError {
  return new ResponseError(
    `${a.endpoint} does not serve etcd's v2 API (it answered 404 ${JSON.stringify(snippet(text))}): ` +
      "etcd 3.4 and 3.5 serve it only when started with --enable-v2=true, and etcd 3.6 removed it",
    {
      endpoint: a.endpoint,
      status: 404,
      ...(a.contentType === undefined ? {} : { contentType: a.contentType }),
    },
  );
}

function etcdIndex(headers: Headers): number | undefined {
  const raw = headers.get("x-etcd-index");
  if (raw === null || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function snippet(text: string): string {
  const t = text.trim();
  return t.length > 120 ? `${t.slice(0, 120)}…` : t;
}
