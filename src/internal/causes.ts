/** An error and its causes, outermost first (at most 8 deep). */
export function causes(e: unknown): object[] {
  const out: object[] = [];
  for (let c = e; typeof c === "object" && c !== null && out.length < 8; ) {
    out.push(c);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * The code of an error that says the server did not process a request: HTTP/2 streams above
 * a GOAWAY's last stream ID, streams refused with REFUSED_STREAM, and streams that waited for
 * a connection that never carried them (RFC 9113 section 8.7).
 */
export const unprocessedCode = "ERR_HTTP2_STREAM_UNPROCESSED";

// Socket errors (Node's; browsers give no detail) that mean the request never left this machine,
// and the HTTP/2 client's own word that the server did not process it.
const notSentCodes = new Set([
  unprocessedCode,
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/**
 * True when the cause chain shows the connection was refused or never made, or the server
 * said it did not process the request, so it may be sent elsewhere even if it is not
 * idempotent.
 */
export function neverSent(e: unknown): boolean {
  return causeCodes(e).some((code) => notSentCodes.has(code) || tlsRefusal(code));
}

/** The string `code`s (node's error codes) along the cause chain, outermost first. */
export function causeCodes(e: unknown): string[] {
  const out: string[] = [];
  for (const c of causes(e)) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string") out.push(code);
  }
  return out;
}

/** True when one of codes is on the cause chain. */
export function hasCauseCode(e: unknown, ...codes: string[]): boolean {
  return causeCodes(e).some((code) => codes.includes(code));
}

// A TLS handshake that failed (the server's certificate was not trusted, or the server refused
// the client's): the server cannot have read a request on that connection.
const certificateCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function tlsRefusal(code: string): boolean {
  return certificateCodes.has(code) || code.startsWith("ERR_SSL_");
}
