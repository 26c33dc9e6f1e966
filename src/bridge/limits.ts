import { InvalidInputError } from "../errors/etcd-error.js";

// The bridge's bounds on what one caller may make it hold. Every limit has a command-line flag
// of the same name (kebab-case), and a RESOURCE_EXHAUSTED answer names that flag.

export interface RequestLimits {
  /**
   * etcd's own request limit (its --max-request-bytes); default 1.5 MiB, etcd's default. The
   * bridge takes a request of up to this plus 512 KiB, the margin etcd's gRPC server allows
   * for the rest of the message; larger ones are refused before they are read.
   */
  maxRequestBytes?: number | undefined;
  /** Watch creates in one Watch request body; default 1,000. */
  maxWatchCreates?: number | undefined;
  /** Bytes of one Watch request body; default 1 MiB. */
  maxWatchBodyBytes?: number | undefined;
  /**
   * Watches open at once on one browser connection, counting each create of a Watch body
   * (a body with no create counts as one); default 1,000.
   */
  maxWatchesPerConnection?: number | undefined;
}

export const defaultLimits: ResolvedLimits = {
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxWatchCreates: 1000,
  maxWatchBodyBytes: 1024 * 1024,
  maxWatchesPerConnection: 1000,
};

/** etcd's gRPC server takes this much over --max-request-bytes (the rest of the message). */
export const requestHeadroomBytes = 512 * 1024;

export type ResolvedLimits = { readonly [K in keyof Required<RequestLimits>]: number };

/** The limits with defaults filled in; a limit below 1 is refused. */
export function resolveLimits(options: RequestLimits): ResolvedLimits {
  const out: { -readonly [K in keyof ResolvedLimits]: number } = { ...defaultLimits };
  for (const key of Object.keys(defaultLimits) as Array<keyof ResolvedLimits>) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new InvalidInputError(`${key}: ${v} must be a whole number of at least 1`, key);
    }
    out[key] = v;
  }
  return out;
}

/** "maxWatchCreates" -> "--max-watch-creates": the flag named in refusals. */
export function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
