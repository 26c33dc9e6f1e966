import { Code, ConnectError } from "@connectrpc/connect";
import { pageLocation } from "../internal/page.js";

/**
 * A fetch that threw before any response came: the same Unavailable status on every protocol
 * ("grpc" gives it for a refused connection), with the cause kept, so that failover sees
 * node's ECONNREFUSED and knows the request was never sent.
 *
 * In a page, fetch says only "Failed to fetch", whether the server is down or its CORS answer
 * did not allow the page's origin; a request to another origin names both causes.
 */
export function fetchFailure(
  url: string,
  cause: unknown,
  page = pageLocation()?.origin,
): ConnectError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new ConnectError(
    `cannot reach ${url}${detail}${corsHint(url, page)}`,
    Code.Unavailable,
    undefined,
    undefined,
    cause,
  );
}

function corsHint(url: string, page: string | undefined): string {
  if (page === undefined || page === "null") return "";
  let target: string;
  try {
    target = new URL(url).origin;
  } catch {
    return "";
  }
  // A same-origin request is not subject to CORS.
  if (target === page) return "";
  return ` (from a page on ${page}: either ${target} is down, or it does not allow this origin through CORS: etcd's --cors, or etcd-web-bridge's --allow-origin, must list ${page})`;
}
