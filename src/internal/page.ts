/** The page's (or worker's) location in a browser; undefined in Node, which has none. */
export function pageLocation(): { href: string; origin: string } | undefined {
  const location = (globalThis as { location?: { href?: unknown; origin?: unknown } }).location;
  if (typeof location?.href !== "string" || typeof location.origin !== "string") return undefined;
  return { href: location.href, origin: location.origin };
}
