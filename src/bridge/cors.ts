import { InvalidInputError } from "../errors/etcd-error.js";

// The CORS contract of the bridge. envoy/envoy.yaml states the same lists, and
// test/bridge/config.test.ts holds the two together.

/** Request headers a page may send: what connect-web's transports send, and etcd's `token`. */
export const allowedRequestHeaders: readonly string[] = [
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "grpc-timeout",
  "x-grpc-web",
  "x-user-agent",
  "token",
];

/** Response headers a page may read: gRPC-Web sends the status in them when a call fails early. */
export const exposedResponseHeaders: readonly string[] = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
];

export const allowedMethods: readonly string[] = ["POST"];

/** Seconds a browser may cache a preflight answer (Chromium caps it at 7200). */
export const preflightMaxAgeSeconds = 7200;

/**
 * Which page origins may call the bridge. Only the listed origins; "*" only when listed.
 * A request without an Origin header is not from a page (browsers send Origin with every
 * POST), so CORS does not apply to it.
 */
export class OriginPolicy {
  private readonly origins: ReadonlySet<string>;
  readonly any: boolean;

  /**
   * @param allowOrigin exact origins such as "http://localhost:5173", or "*"
   * @param sameOrigin also allow a page served by the same host (the Vite plugin, whose server
   *   already refuses foreign Host headers)
   */
  constructor(
    allowOrigin: readonly string[],
    private readonly sameOrigin = false,
  ) {
    this.any = allowOrigin.includes("*");
    this.origins = new Set(
      allowOrigin.filter((o) => o !== "*").map((o) => normalizeOrigin(o, "allowOrigin")),
    );
  }

  allows(origin: string, host: string | undefined): boolean {
    if (this.any) return true;
    let normalized: string;
    try {
      normalized = normalizeOrigin(origin, "origin");
    } catch {
      return false;
    }
    if (this.origins.has(normalized)) return true;
    return this.sameOrigin && host !== undefined && new URL(normalized).host === host.toLowerCase();
  }

  /** The Access-Control-* headers of an answer to an allowed origin. */
  responseHeaders(origin: string, preflight: boolean): Record<string, string> {
    const headers: Record<string, string> = this.any
      ? { "access-control-allow-origin": "*" }
      : { "access-control-allow-origin": origin, vary: "Origin" };
    if (!preflight) {
      headers["access-control-expose-headers"] = exposedResponseHeaders.join(", ");
      return headers;
    }
    headers["access-control-allow-methods"] = allowedMethods.join(", ");
    headers["access-control-allow-headers"] = allowedRequestHeaders.join(", ");
    headers["access-control-max-age"] = String(preflightMaxAgeSeconds);
    return headers;
  }
}

/** "HTTP://Example.com:80/" -> "http://example.com"; anything but a bare http(s) origin throws. */
export function normalizeOrigin(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(
      `${field}: "${raw}" is not an origin (e.g. http://localhost:5173)`,
      field,
    );
  }
  const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !bare) {
    throw new InvalidInputError(
      `${field}: "${raw}" must be a scheme, host and optional port only (e.g. http://localhost:5173)`,
      field,
    );
  }
  return url.origin;
}
