// The connection under a session: TCP for http: URLs, TLS with ALPN "h2" for https: URLs.
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from "node:tls";
import { sessionError } from "./h2-errors.node.js";

/**
 * Connects to the URL's host and port. `onReady` runs once the connection can carry HTTP/2;
 * a TLS server that did not agree to "h2" calls `onRefused` instead.
 */
export function connectSocket(
  url: URL,
  tls: ConnectionOptions | undefined,
  onReady: () => void,
  onRefused: (e: Error) => void,
): Socket {
  const secure = url.protocol === "https:";
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const socket = secure
    ? tlsConnect({
        // SNI takes host names only.
        ...(isIP(host) ? {} : { servername: host }),
        ...tls,
        host,
        port,
        ALPNProtocols: ["h2"],
      })
    : tcpConnect({ host, port });
  socket.setNoDelay(true);
  socket.once(secure ? "secureConnect" : "connect", () => {
    const alpn = secure ? (socket as TLSSocket).alpnProtocol : "h2";
    if (alpn === "h2") onReady();
    else {
      onRefused(
        sessionError(
          `${url.host} does not speak HTTP/2 over TLS (ALPN: ${alpn || "none"})`,
          "ERR_HTTP2_ERROR",
        ),
      );
    }
  });
  return socket;
}
