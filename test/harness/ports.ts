import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === "object") resolve(addr.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/**
 * An endpoint that refuses connections: nothing listens on port 1, and unlike a port that
 * freePort() found free, no other test's etcd or bridge can be given it (listen(0) hands out
 * ephemeral ports only).
 */
export const refusedUrl = "http://127.0.0.1:1";
