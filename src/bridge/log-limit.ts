/**
 * At most one log line per key (an origin) per interval, with how many were held back: a page
 * that retries in a loop, or a site probing the bridge, cannot flood the log. Keys are bounded
 * too: past maxKeys the table starts over.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly intervalMs = 60_000,
    private readonly maxKeys = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  write(key: string, line: string): void {
    const t = this.now();
    const seen = this.last.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.held++;
      return;
    }
    if (!seen && this.last.size >= this.maxKeys) this.last.clear();
    const held = seen?.held ?? 0;
    this.last.set(key, { at: t, held: 0 });
    this.log(held > 0 ? `${line} (${held} more since the last such line)` : line);
  }
}
