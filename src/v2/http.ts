import type { EndpointPool } from "../endpoints/endpoint-pool.js";
import { type AttemptVerdict, type RetryOptions, withFailover } from "../endpoints/failover.js";
import {
  ClusterError,
  ContextError,
  EtcdError,
  InvalidInputError,
  ResponseError,
} from "../errors/etcd-error.js";
import type { Clock } from "../internal/clock.js";
import type { Deadline } from "../internal/deadline.js";
import { bad, decodeV2Error, type RawAnswer } from "./decode.js";
import { V2Error } from "./v2-error.js";

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

/** What a failed attempt means for failover. */
export function classify(e: unknown, endpoint: string): AttemptVerdict {
  if (e instanceof V2Error) {
    // 5xx is etcd's 300 (raft internal, e.g. a request timeout) or 301: this member cannot
    // serve now, and the request may have been proposed.
    return { error: e, endpointFailed: (e.status ?? 0) >= 500, maybeSent: true };
  }
  if (e instanceof ResponseError) {
    // A server without v2 says so for good; anything else not etcd's is a broken endpoint.
    return { error: e, endpointFailed: e.status !== 404, maybeSent: true };
  }
  if (e instanceof ContextError) return { error: e, endpointFailed: true, maybeSent: true };
  if (e instanceof EtcdError) return { error: e, endpointFailed: false, maybeSent: true };
  return { error: networkError(e, endpoint), endpointFailed: true, maybeSent: !neverSent(e) };
}

// Socket errors (Node's; browsers give no detail) that mean the request never left.
const notSentCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

function neverSent(e: unknown): boolean {
  return causes(e).some((c) => {
    const code = (c as { code?: unknown }).code;
    return typeof code === "string" && notSentCodes.has(code);
  });
}

function isBodyTimeout(e: unknown): boolean {
  return causes(e).some((c) => (c as { code?: unknown }).code === "UND_ERR_BODY_TIMEOUT");
}

function causes(e: unknown): object[] {
  const out: object[] = [];
  for (let c = e; typeof c === "object" && c !== null && out.length < 8; ) {
    out.push(c);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

/** fetch's "fetch failed", with the reason from its cause chain. */
function networkError(e: unknown, endpoint: string): Error {
  const messages = causes(e)
    .map((c) => (c instanceof Error ? c.message : ""))
    .filter((m) => m !== "");
  const message = [...new Set(messages)].join(": ") || String(e);
  return new Error(`${endpoint}: ${message}`, { cause: e });
}

/**
 * One attempt's signal: the call's, plus a limit that holds only until the response headers
 * arrive (Go's HeaderTimeoutPerRequest). Clears its timer and listener on every path.
 */
class HeaderTimer {
  readonly signal: AbortSignal;
  expired = false;
  private readonly controller = new AbortController();
  private timer: unknown;
  private readonly onAbort = () => this.controller.abort(this.parent.reason);

  constructor(
    private readonly parent: AbortSignal,
    ms: number,
    private readonly clock: Clock,
  ) {
    this.signal = this.controller.signal;
    if (parent.aborted) {
      this.onAbort();
      return;
    }
    parent.addEventListener("abort", this.onAbort, { once: true });
    if (ms > 0) {
      this.timer = clock.setTimeout(() => {
        this.timer = undefined;
        this.expired = true;
        this.controller.abort(new Error("response headers timed out"));
      }, ms);
    }
  }

  headersArrived(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.headersArrived();
    this.parent.removeEventListener("abort", this.onAbort);
  }
}

/** "Basic base64(user:password)" over UTF-8, or undefined without a username. */
export function basicAuth(
  username: string | undefined,
  password: string | undefined,
): string | undefined {
  if (username === undefined || username === "") {
    if (password) throw new InvalidInputError("a password needs a username", "password");
    return undefined;
  }
  if (username.includes(":")) {
    throw new InvalidInputError("a username for basic auth cannot contain ':'", "username");
  }
  const bytes = new TextEncoder().encode(`${username}:${password ?? ""}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
