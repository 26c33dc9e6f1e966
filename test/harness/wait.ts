/**
 * Waits until check() holds, polling; fails after timeoutMs with what `state()` says then, so
 * a failure tells what was seen last. Tests wait on conditions, never on fixed sleeps.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  state?: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) {
      throw new Error(`condition not met in ${timeoutMs} ms${state ? ` (${state()})` : ""}`);
    }
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
