import type { ConnectionOptions } from "node:tls";
import type { TlsOptions } from "../protocol.js";

/** etcd-web's TLS options as node:tls takes them (Buffers, mutable arrays). */
export function nodeTls(tls: TlsOptions | undefined): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const buf = (v: string | Uint8Array) => (typeof v === "string" ? v : Buffer.from(v));
  const out: ConnectionOptions = {};
  if (tls.ca !== undefined) {
    out.ca =
      typeof tls.ca === "string" || tls.ca instanceof Uint8Array ? buf(tls.ca) : tls.ca.map(buf);
  }
  if (tls.cert !== undefined) out.cert = buf(tls.cert);
  if (tls.key !== undefined) out.key = buf(tls.key);
  if (tls.servername !== undefined) out.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}
