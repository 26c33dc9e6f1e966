import { InvalidInputError } from "../errors/etcd-error.js";

/**
 * Checks and normalizes endpoint URLs at construction: http(s) only, a host, no credentials,
 * query or fragment (credentials in a URL would end up in logs). A path prefix is kept, for
 * proxies that mount etcd under one; the trailing slash is dropped.
 */
export function parseEndpoints(
  endpoints: readonly string[] | undefined,
  field = "endpoints",
): string[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new InvalidInputError(`${field} must list at least one URL`, field);
  }
  const seen = new Set<string>();
  for (const raw of endpoints) {
    const url = parseEndpoint(raw, field);
    if (seen.has(url)) throw new InvalidInputError(`${field} lists ${url} twice`, field);
    seen.add(url);
  }
  return [...seen];
}

export function parseEndpoint(raw: unknown, field = "endpoints"): string {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new InvalidInputError(`${field}: an endpoint must be a non-empty URL string`, field);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new InvalidInputError(
      `${field}: "${raw}" is not a URL (expected e.g. http://127.0.0.1:2379)`,
      field,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidInputError(`${field}: "${raw}" must use http: or https:`, field);
  }
  if (!url.hostname) throw new InvalidInputError(`${field}: "${raw}" has no host`, field);
  if (url.username || url.password) {
    throw new InvalidInputError(
      `${field}: "${url.host}" must not carry credentials; use the auth options`,
      field,
    );
  }
  if (url.search || url.hash) {
    throw new InvalidInputError(`${field}: "${raw}" must not have a query or fragment`, field);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
