import { Code, ConnectError } from "@connectrpc/connect";
import { ResponseError } from "../../errors/etcd-error.js";

/** Where a response came from, for errors that say what was wrong with it. */
export interface ResponseSource {
  /** The endpoint (the transport's baseUrl). */
  endpoint: string;
  /** The URL that was called. */
  url: string;
  /** HTTP status; none for WebSocket messages. */
  status?: number | undefined;
  contentType?: string | undefined;
}

/**
 * The gRPC status in an error body of etcd's gateway, in each form it writes:
 *   {"error": "<msg>", "code": 11, "message": "<msg>"}                   unary, grpc-gateway v1 (etcd 3.4, 3.5)
 *   {"code": 11, "message": "<msg>", "details": []}                      unary, grpc-gateway v2 (etcd 3.6)
 *   {"error": {"grpc_code": 11, "http_code": 400, "message": "<msg>"}}   stream, v1
 *   {"error": {"code": 11, "message": "<msg>", "details": []}}           stream, v2
 * Undefined when the body is none of these.
 */
export function gatewayStatus(body: unknown): { code: Code; message: string } | undefined {
  if (!isObject(body)) return undefined;
  const inner = isObject(body.error) ? body.error : body;
  const code = inner.grpc_code ?? inner.code;
  const message = typeof inner.message === "string" ? inner.message : body.error;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 1 || code > 16)
    return undefined;
  if (typeof message !== "string") return undefined;
  return { code, message };
}

/** etcd's status as the grpc protocols carry it: the same code and message. */
export function statusError(
  status: { code: Code; message: string },
  metadata?: HeadersInit,
): ConnectError {
  return new ConnectError(status.message, status.code, metadata);
}

/** A response that is not etcd's gateway speaking: a proxy's page, a truncated body, ... */
export function notEtcd(what: string, source: ResponseSource, cause?: unknown): ResponseError {
  const seen = [
    source.status === undefined ? "" : `HTTP ${source.status}`,
    source.contentType ?? "",
  ].filter((s) => s !== "");
  const context = seen.length ? `${source.url}: ${seen.join(", ")}` : source.url;
  return new ResponseError(`${what} (${context})`, {
    endpoint: source.endpoint,
    ...(cause === undefined ? {} : { cause }),
    ...(source.status === undefined ? {} : { status: source.status }),
    ...(source.contentType ? { contentType: source.contentType } : {}),
  });
}

/** The server could not be reached, or the connection broke. */
export function unavailable(what: string, cause?: unknown): ConnectError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new ConnectError(`${what}${detail}`, Code.Unavailable, undefined, undefined, cause);
}

/** The first characters of a body, for an error message. */
export function bodyExcerpt(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
