/** An error and its causes, outermost first (at most 8 deep). */
export function causes(e: unknown): object[] {
  const out: object[] = [];
  for (let c = e; typeof c === "object" && c !== null && out.length < 8; ) {
    out.push(c);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

// Socket errors (Node's; browsers give no detail) that mean the request never left this machine.
const notSentCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * True when the cause chain shows the connection was refused or never made, so the request
 * cannot have reached a server and may be sent elsewhere even if it is not idempotent.
 */
export function neverSent(e: unknown): boolean {
  return causes(e).some((c) => {
    const code = (c as { code?: unknown }).code;
    return typeof code === "string" && notSentCodes.has(code);
  });
}
