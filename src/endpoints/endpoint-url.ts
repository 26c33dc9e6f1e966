import { InvalidInputError } from "../errors/etcd-error.js";
import { pageLocation } from "../internal/page.js";

/**
 * Checks and normalizes endpoint URLs at construction: http(s) only, a host, no credentials,
 * query or fragment (credentials in a URL would end up in logs). A path prefix is kept, for
 * proxies that mount etcd under one; the trailing slash is dropped. In a page, a relative URL
 * ("/etcd", where the dev server or the site's proxy serves etcd) is resolved against the
 * page's location.
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

export function parseEndpoint(
  raw: unknown,
  field = "endpoints",
  base: string | undefined = pageLocation()?.href,
): string {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new InvalidInputError(`${field}: an endpoint must be a non-empty URL string`, field);
  }
  const url = toUrl(raw.trim(), field, base);
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

function toUrl(raw: string, field: string, base: string | undefined): URL {
  try {
    return new URL(raw);
  } catch {
    // Relative, or not a URL at all.
  }
  // A path reference ("/etcd", "./etcd"); "etcd:2379" or "host/etcd" is not one.
  if (!/^\.{0,2}\//.test(raw)) {
    throw new InvalidInputError(
      `${field}: "${raw}" is not a URL (expected e.g. http://127.0.0.1:2379)`,
      field,
    );
  }
  if (base === undefined) {
    throw new InvalidInputError(
      `${field}: "${raw}" is a relative URL, which only a page can resolve (against its location); without one, give a full URL such as http://127.0.0.1:2379`,
      field,
    );
  }
  return new URL(raw, base);
}
